"""Builders for small, valid invoice dicts (the JSON shape ``check_invoice`` reads).

``minimal_invoice`` passes ``check_invoice`` with no problem at all: one standard-rated
line of 100.00 EUR at 19 %, a seller VAT identifier (BR-CO-26, BR-S-02) and a due date
(BR-CO-25). Tests change one thing and look at what is reported.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

MINIMAL: dict[str, Any] = {
    "number": "INV-2026-0001",
    "issue_date": "2026-01-15",
    "type_code": "380",
    "currency_code": "EUR",
    "due_date": "2026-02-14",
    "seller": {
        "name": "Seller GmbH",
        "vat_identifier": "DE123456789",
        "address": {"city": "Berlin", "country_code": "DE"},
    },
    "buyer": {"name": "Buyer AG", "address": {"city": "Hamburg", "country_code": "DE"}},
    "lines": [
        {
            "id": "1",
            "quantity": "1",
            "unit_code": "C62",
            "price": {"net_amount": "100.00"},
            "vat": {"category_code": "S", "rate": "19"},
            "item": {"name": "Widget"},
        }
    ],
}


def build_line(
    line_id: str | int = "1",
    quantity: str = "1",
    price: str | None = "100.00",
    category: str = "S",
    rate: str | None = "19",
    **extra: Any,
) -> dict[str, Any]:
    """One invoice line dict; ``rate=None`` leaves BT-152 out (category O)."""
    vat: dict[str, Any] = {"category_code": category}
    if rate is not None:
        vat["rate"] = rate
    line: dict[str, Any] = {
        "id": str(line_id),
        "quantity": quantity,
        "unit_code": "C62",
        "price": {"net_amount": price},
        "vat": vat,
        "item": {"name": f"Item {line_id}"},
    }
    line.update(extra)
    return line


def build_invoice(lines: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    """A copy of the minimal invoice with ``lines`` and top-level keys replaced."""
    data = copy.deepcopy(MINIMAL)
    if lines is not None:
        data["lines"] = lines
    data.update(copy.deepcopy(overrides))
    return data


@pytest.fixture
def minimal_invoice() -> dict[str, Any]:
    """A fresh minimal valid invoice dict (safe to change in the test)."""
    return build_invoice()


@pytest.fixture
def make_invoice() -> Callable[..., dict[str, Any]]:
    """``make_invoice(lines=[...], **top_level_overrides)`` → invoice dict."""
    return build_invoice


@pytest.fixture
def make_line() -> Callable[..., dict[str, Any]]:
    """``make_line(id, quantity, price, category, rate, **extra)`` → line dict."""
    return build_line
