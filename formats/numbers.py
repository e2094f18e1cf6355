"""Amounts, quantities, dates and account numbers written the way each language reads them.

Shared by the readable PDF (``formats.pdf``) and the email channel's message text
(``connectors.email``), so both write an invoice's figures alike. A small table per
language instead of Babel/CLDR: six languages, a handful of currency symbols, and no
dependency to load (the render budget is a few milliseconds). Amounts use the currency's
ISO 4217 minor units (``currency_decimals``); unit prices and quantities keep the decimals
they were given, never fewer than the currency's for a price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from formats.invoice.codes import currency_decimals

NBSP = "\u00a0"


@dataclass(frozen=True)
class NumberStyle:
    group: str
    decimal: str
    symbol_first: bool  # "€1.00" (en) or "1,00 €" (fr, de…)
    symbol_space: bool  # a space between symbol and number when the symbol comes first
    months: tuple[str, ...]
    date_pattern: str  # {d} day, {dd} zero-padded day, {month}, {mm}, {y}


_EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_FR_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
_DE_MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]
_IT_MONTHS = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
]
_ES_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
_NL_MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]

STYLES: dict[str, NumberStyle] = {
    "en": NumberStyle(",", ".", True, False, tuple(_EN_MONTHS), "{d} {month} {y}"),
    "fr": NumberStyle(NBSP, ",", False, False, tuple(_FR_MONTHS), "{d} {month} {y}"),
    "de": NumberStyle(".", ",", False, False, tuple(_DE_MONTHS), "{dd}.{mm}.{y}"),
    "it": NumberStyle(".", ",", False, False, tuple(_IT_MONTHS), "{dd}/{mm}/{y}"),
    "es": NumberStyle(".", ",", False, False, tuple(_ES_MONTHS), "{dd}/{mm}/{y}"),
    "nl": NumberStyle(".", ",", True, True, tuple(_NL_MONTHS), "{dd}-{mm}-{y}"),
}

# Symbols readers know; any other currency is written with its ISO code.
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "ILS": "₪", "PLN": "zł"}


def _digits(value: Decimal, decimals: int | None, style: NumberStyle) -> str:
    """``value`` with ``decimals`` places (as given when None), grouped by thousands."""
    if decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-decimals))
    text = f"{abs(value):f}"
    whole, _, fraction = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = style.group.join(groups)
    if fraction:
        out += style.decimal + fraction
    return out


def _decimals_of(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def money(value: Decimal, currency: str, language: str, *, decimals: int | None = None) -> str:
    """An amount with its currency: ``€1,234.56`` (en), ``1 234,56 €`` (fr), ``1.234,56 €`` (de).

    ``decimals`` defaults to the currency's minor units; unit prices pass their own.
    """
    style = STYLES[language]
    places = currency_decimals(currency) if decimals is None else decimals
    number = _digits(value, places, style)
    sign = "-" if value < 0 and number.strip("0.,\u00a0") else ""
    symbol = _SYMBOLS.get(currency)
    if symbol is None:
        return f"{sign}{currency}{NBSP}{number}" if style.symbol_first else f"{sign}{number}{NBSP}{currency}"
    if style.symbol_first:
        return f"{sign}{symbol}{NBSP if style.symbol_space else ''}{number}"
    return f"{sign}{number}{NBSP}{symbol}"


def unit_price(value: Decimal, currency: str, language: str) -> str:
    """A unit price: its own decimals (``4.2190`` stays four), at least the currency's."""
    places = max(_decimals_of(value), currency_decimals(currency))
    return money(value, currency, language, decimals=places)


def number(value: Decimal, language: str, *, decimals: int | None = None) -> str:
    """A quantity or rate: the decimals given, trailing zeros dropped (``12.50`` → ``12,5``)."""
    if decimals is None:
        value = value.normalize() if value != value.to_integral() else value.quantize(Decimal(1))
    text = _digits(value, decimals, STYLES[language])
    return ("-" if value < 0 else "") + text


def percent(value: Decimal, language: str) -> str:
    """A VAT rate or percentage: ``5.5 %`` (with a no-break space, as fr and de write it)."""
    text = number(value, language)
    return f"{text}%" if language == "en" else f"{text}{NBSP}%"


def day(value: date, language: str) -> str:
    """A date: ``2 November 2026`` (en), ``2 novembre 2026`` (fr), ``02.11.2026`` (de)…"""
    style = STYLES[language]
    return style.date_pattern.format(
        d=value.day,
        dd=f"{value.day:02d}",
        month=style.months[value.month - 1],
        mm=f"{value.month:02d}",
        y=value.year,
    )


def grouped(account: str) -> str:
    """An IBAN (or other account number) in groups of four, the way it is printed on paper."""
    compact = "".join(account.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
