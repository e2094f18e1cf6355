"""Property-based tests of calculate() on random valid invoices, for both rounding rules.

The strategy builds invoice dicts as an ERP would send them (derived terms left out):
1–30 lines with random quantities (some negative), prices, base quantities, line
allowances and charges, VAT categories S (several real rates) and Z/E/AE/K/G at 0 %,
document allowances and charges, and optionally a paid and a rounding amount.
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from formats.invoice import Invoice, RoundingRule, calculate, compare_totals, parse_invoice

CENT = Decimal("0.01")
STANDARD_RATES = ["5", "7", "9", "10", "19", "20", "21", "25.5"]
ZERO_RATED = ["Z", "E", "AE", "K", "G"]


def _scaled(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals from low to high with at most ``places`` decimals."""
    factor = 10**places
    return st.integers(low * factor, high * factor).map(lambda n: Decimal(n).scaleb(-places))


quantities = st.integers(0, 3).flatmap(lambda p: _scaled(-500, 1000, p))
prices = st.integers(0, 4).flatmap(lambda p: _scaled(0, 5000, p))
base_quantities = st.sampled_from([None, "1", "2.5", "3", "10", "12", "100", "1000"])
amounts = _scaled(0, 500, 2)
percentages = st.integers(0, 2).flatmap(lambda p: _scaled(0, 100, p))

vat_categories = st.one_of(
    st.sampled_from(STANDARD_RATES).map(lambda rate: ("S", Decimal(rate))),
    st.sampled_from(ZERO_RATED).map(lambda category: (category, Decimal(0))),
)


@st.composite
def allowance_or_charge(draw: st.DrawFn, *, document: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"reason": "r"}
    shape = draw(st.sampled_from(["amount", "percentage", "base and percentage"]))
    if document and shape == "percentage":
        shape = "base and percentage"  # a document-level percentage needs its base
    if shape == "amount":
        item["amount"] = draw(amounts)
    else:
        item["percentage"] = draw(percentages)
        if shape == "base and percentage":
            item["base_amount"] = draw(_scaled(0, 5000, 2))
    if document:
        category, rate = draw(vat_categories)
        item["vat_category_code"] = category
        item["vat_rate"] = rate
    return item


@st.composite
def invoice_lines(draw: st.DrawFn, index: int) -> dict[str, Any]:
    category, rate = draw(vat_categories)
    price: dict[str, Any] = {}
    if draw(st.booleans()):
        price["net_amount"] = draw(prices)
    else:
        gross = draw(prices)
        price["gross_amount"] = gross
        price["discount"] = draw(
            st.sampled_from([Decimal(0), gross / 10, gross]).map(lambda d: d.normalize())
        )
    base = draw(base_quantities)
    if base is not None:
        price["base_quantity"] = Decimal(base)
    return {
        "id": str(index + 1),
        "quantity": draw(quantities),
        "unit_code": "C62",
        "price": price,
        "vat": {"category_code": category, "rate": rate},
        "item": {"name": f"item {index + 1}"},
        "allowances": draw(st.lists(allowance_or_charge(document=False), max_size=2)),
        "charges": draw(st.lists(allowance_or_charge(document=False), max_size=1)),
    }


@st.composite
def invoices(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 30))
    totals: dict[str, Any] = {}
    if draw(st.booleans()):
        totals["paid_amount"] = draw(_scaled(0, 1000, 2))
    if draw(st.booleans()):
        totals["rounding_amount"] = draw(_scaled(-1, 1, 2))
    return {
        "number": "P-1",
        "issue_date": "2026-03-01",
        "type_code": "380",
        "currency_code": "EUR",
        "seller": {"name": "S", "vat_identifier": "DE123456789", "address": {"country_code": "DE"}},
        "buyer": {"name": "B", "address": {"country_code": "FR"}},
        "lines": [draw(invoice_lines(i)) for i in range(count)],
        "allowances": draw(st.lists(allowance_or_charge(document=True), max_size=3)),
        "charges": draw(st.lists(allowance_or_charge(document=True), max_size=3)),
        "totals": totals,
    }


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _amounts(invoice: Invoice) -> list[Decimal | None]:
    """Every monetary amount (BR-DEC: at most two decimals) of a calculated invoice."""
    out: list[Decimal | None] = []
    for line in invoice.lines:
        out.append(line.net_amount)
        for item in [*line.allowances, *line.charges]:
            out += [item.amount, item.base_amount]
    for doc_item in [*invoice.allowances, *invoice.charges]:
        out += [doc_item.amount, doc_item.base_amount]
    for entry in invoice.vat_breakdown:
        out += [entry.taxable_amount, entry.tax_amount]
    out += list(invoice.totals.model_dump().values())
    return out


def _items_per_key(invoice: Invoice) -> Counter[tuple[str, Decimal | None]]:
    """How many lines, document allowances and charges fall in each VAT category and rate."""
    keys = [(line.vat.category_code, line.vat.rate) for line in invoice.lines]
    keys += [(a.vat_category_code, a.vat_rate) for a in [*invoice.allowances, *invoice.charges]]
    return Counter(keys)


def _check_identities(result: Invoice) -> None:
    totals = result.totals
    zero = Decimal(0)
    assert totals.line_net_total == sum((line.net_amount or zero for line in result.lines), zero)  # BR-CO-10
    if result.allowances:
        assert totals.allowance_total == sum((a.amount or zero for a in result.allowances), zero)
    else:
        assert totals.allowance_total is None
    if result.charges:
        assert totals.charge_total == sum((c.amount or zero for c in result.charges), zero)
    else:
        assert totals.charge_total is None
    assert totals.line_net_total is not None
    assert totals.tax_exclusive_amount == (
        totals.line_net_total - (totals.allowance_total or zero) + (totals.charge_total or zero)
    )  # BR-CO-13
    assert totals.vat_total == sum((b.tax_amount or zero for b in result.vat_breakdown), zero)  # BR-CO-14
    assert totals.tax_exclusive_amount is not None
    assert totals.vat_total is not None
    assert totals.tax_inclusive_amount == totals.tax_exclusive_amount + totals.vat_total  # BR-CO-15
    assert totals.amount_due == (
        totals.tax_inclusive_amount - (totals.paid_amount or zero) + (totals.rounding_amount or zero)
    )  # BR-CO-16
    assert sum((b.taxable_amount or zero for b in result.vat_breakdown), zero) == totals.tax_exclusive_amount
    for amount in _amounts(result):
        if amount is not None:
            exponent = amount.as_tuple().exponent
            assert isinstance(exponent, int)
            assert exponent >= -2, amount
            assert not (amount.is_zero() and amount.is_signed()), "negative zero"


def _check_vat(result: Invoice, rounding: RoundingRule) -> None:
    items = _items_per_key(result)
    keys = [(b.category_code, b.rate) for b in result.vat_breakdown]
    assert len(keys) == len(set(keys)), "one breakdown entry per category and rate"
    assert set(keys) == set(items)
    for entry in result.vat_breakdown:
        assert entry.taxable_amount is not None
        assert entry.tax_amount is not None
        if entry.category_code != "S":
            assert entry.tax_amount == 0
            continue
        assert entry.rate is not None
        exact = entry.taxable_amount * entry.rate / 100
        if rounding is RoundingRule.TOTALS:
            assert entry.tax_amount == _half_up(exact)  # BR-CO-17, rounded once
        else:
            drift = abs(entry.tax_amount - exact)
            n = items[(entry.category_code, entry.rate)]
            assert drift <= Decimal("0.005") * n + Decimal("0.005"), (drift, n)
            assert drift <= Decimal("1.00")  # the tolerance BR-CO-17 allows


@settings(max_examples=200, deadline=None)
@given(invoices())
def test_calculated_invoices_satisfy_en16931(data: dict[str, Any]) -> None:
    invoice = parse_invoice(data)
    for rounding in RoundingRule:
        result = calculate(invoice, rounding)
        _check_identities(result)
        _check_vat(result, rounding)
        again = calculate(result, rounding)
        assert again == result, "calculate is idempotent"
        assert compare_totals(result, again) == []
