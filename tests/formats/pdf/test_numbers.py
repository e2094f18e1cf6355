"""Amounts, dates and account numbers as each language writes them, and the label tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from formats import numbers
from formats.pdf import labels
from formats.pdf.fonts import fonts

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "€1,234.56"),
        ("fr", f"1{NBSP}234,56{NBSP}€"),
        ("de", f"1.234,56{NBSP}€"),
        ("it", f"1.234,56{NBSP}€"),
        ("nl", f"€{NBSP}1.234,56"),
    ],
)
def test_money(language: str, expected: str) -> None:
    assert numbers.money(Decimal("1234.56"), "EUR", language) == expected


def test_money_minor_units_and_sign() -> None:
    assert numbers.money(Decimal("1234567"), "JPY", "en") == "¥1,234,567"
    assert numbers.money(Decimal("-0.5"), "EUR", "de") == f"-0,50{NBSP}€"
    assert numbers.money(Decimal("1000"), "CHF", "de") == f"1.000,00{NBSP}CHF"
    assert numbers.money(Decimal("1000"), "CHF", "en") == f"CHF{NBSP}1,000.00"
    assert numbers.money(Decimal("0.00"), "EUR", "en") == "€0.00"


def test_unit_price_keeps_its_decimals() -> None:
    assert numbers.unit_price(Decimal("4.2190"), "EUR", "de") == f"4,2190{NBSP}€"
    assert numbers.unit_price(Decimal("18.4"), "EUR", "en") == "€18.40"
    assert numbers.unit_price(Decimal("120"), "JPY", "en") == "¥120"


def test_quantities_and_rates() -> None:
    assert numbers.number(Decimal("3500"), "de") == "3.500"
    assert numbers.number(Decimal("12.500"), "fr") == "12,5"
    assert numbers.number(Decimal("1E+1"), "en") == "10"
    assert numbers.percent(Decimal("5.5"), "fr") == f"5,5{NBSP}%"
    assert numbers.percent(Decimal("19"), "en") == "19%"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "2 November 2026"), ("fr", "2 novembre 2026"), ("de", "02.11.2026"), ("nl", "02-11-2026")],
)
def test_dates(language: str, expected: str) -> None:
    assert numbers.day(date(2026, 11, 2), language) == expected


def test_iban_grouped_in_fours() -> None:
    assert numbers.grouped("de89 3704 0044 0532 0130 00") == "DE89 3704 0044 0532 0130 00"
    assert numbers.grouped("FR7610278073050002019280140") == "FR76 1027 8073 0500 0201 9280 140"


def test_every_label_is_translated() -> None:
    for key, row in labels.LABELS.items():
        assert len(row) == len(labels.LANGUAGES), key
        assert all(row), key
    assert labels.title("381", "de") == "Gutschrift"
    assert labels.title("396", "fr") == "Avoir"  # another credit note code reads as one
    assert labels.title("999", "en") == "Invoice"
    assert labels.unit("ZZZ", "en") == "ZZZ"


@pytest.mark.parametrize(
    ("country", "post_code", "language"),
    [
        ("DE", "10115", "de"),
        ("AT", "1010", "de"),
        ("FR", "69002", "fr"),
        ("LU", "L-1009", "fr"),
        ("BE", "1000", "fr"),
        ("BE", "9000", "nl"),
        ("BE", "4700", "de"),
        ("BE", None, "fr"),
        ("CH", "8001", "de"),
        ("CH", "1201", "fr"),
        ("CH", "6900", "it"),
        ("IT", "24126", "it"),
        ("US", "10001", "en"),
    ],
)
def test_default_language(country: str, post_code: str | None, language: str) -> None:
    assert labels.default_language(country, post_code) == language


def test_clean_replaces_only_what_the_font_lacks() -> None:
    clean = fonts().clean
    assert clean("Straße € Ωmega") == "Straße € Ωmega"
    assert clean("e\u0301") == "é"
    assert clean("漢🙂") == "\ufffd\ufffd"
    assert clean("a\tb\u200bc") == "a bc"
