"""The one pure calculation step: line nets, allowances, VAT breakdown and totals.

``calculate(invoice, rounding)`` rebuilds every derived term from the given ones, exactly
as EN 16931 defines them, and returns a new invoice (the input is never changed):

* item net price BT-146 = gross price BT-148 − discount BT-147, when a gross price is given;
* an allowance or charge given as base × percentage gets its amount (BT-92/99, BT-136/141);
  a line allowance/charge percentage without a base applies to quantity × net price;
* line net BT-131 = round(quantity BT-129 × net price BT-146 / base quantity BT-149)
  + Σ line charges − Σ line allowances;
* BT-106 = Σ BT-131 (BR-CO-10); BT-107 = Σ BT-92 (BR-CO-11); BT-108 = Σ BT-99 (BR-CO-12);
  BT-109 = BT-106 − BT-107 + BT-108 (BR-CO-13);
* one VAT breakdown (BG-23) per category and rate: BT-116 = Σ line nets + Σ charges − Σ
  allowances of that category and rate (BR-S-08, BR-Z-08, BR-E-08, BR-AE-08, BR-K-08,
  BR-G-08, BR-O-08, BR-AF-08, BR-AG-08); BT-117 = 0 for Z, E, AE, K, G, O;
* BT-110 = Σ BT-117 (BR-CO-14); BT-112 = BT-109 + BT-110 (BR-CO-15);
  BT-115 = BT-112 − BT-113 + BT-114 (BR-CO-16).

Amounts round half away from zero to the currency's decimals (two, or none for JPY and
the other zero-decimal ISO 4217 currencies). The one choice left to the seller is when
VAT is rounded, the *rounding rule*:

* ``totals`` (default, the EN 16931 way, BR-CO-17): per category and rate,
  BT-117 = round(BT-116 × rate / 100), rounded once.
* ``line``: VAT is computed and rounded on each line, allowance and charge, and the
  category's BT-117 is the sum of those (what many ERPs do). BR-CO-17 allows the drift
  this causes (it tolerates ±1 currency unit).

Worked example where they differ: ten lines of 1 × 0.10 EUR at 19 % VAT. Per line
0.10 × 19 % = 0.019, rounded 0.02, times ten lines: ``line`` gives 0.20. On the total
1.00 × 19 % = 0.19: ``totals`` gives 0.19. (``tests/formats/invoice/test_calculate.py``
keeps this example.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TypeVar

from formats.errors import InvoiceProblems
from formats.invoice.codes import category_rule_prefix, currency_decimals
from formats.invoice.model import (
    DocumentAllowance,
    DocumentCharge,
    DocumentTotals,
    Invoice,
    InvoiceLine,
    LineAllowance,
    LineCharge,
    VatBreakdown,
)
from formats.invoice.problems import Problem, problem_at

_Item = TypeVar("_Item", DocumentAllowance, DocumentCharge, LineAllowance, LineCharge)
_DocumentItem = TypeVar("_DocumentItem", DocumentAllowance, DocumentCharge)

HUNDRED = Decimal(100)
ZERO_VAT_CATEGORIES = frozenset({"Z", "E", "AE", "K", "G", "O"})
"""Categories whose VAT amount is always zero (BR-Z-09, BR-E-09, BR-AE-09, … BR-O-09)."""


class RoundingRule(StrEnum):
    """When VAT is rounded; see the module docstring for a worked example."""

    TOTALS = "totals"
    LINE = "line"


@dataclass
class _Money:
    """Rounding to the invoice currency's decimals, half away from zero."""

    decimals: int
    quantum: Decimal = field(init=False)  # 0.01 for two decimals

    def __post_init__(self) -> None:
        self.quantum = Decimal(1).scaleb(-self.decimals)

    def round(self, value: Decimal) -> Decimal:
        rounded = value.quantize(self.quantum, rounding=ROUND_HALF_UP)
        return rounded + 0  # turns -0.00 into 0.00

    def vat(self, base: Decimal, rate: Decimal) -> Decimal:
        return self.round(base * rate / HUNDRED)


VatKey = tuple[str, Decimal | None]


@dataclass
class _Bucket:
    """What one VAT category and rate collects while the invoice is calculated."""

    category: str
    rate: Decimal | None
    taxable: Decimal = Decimal(0)
    line_vat: Decimal = Decimal(0)  # Σ of per-item rounded VAT, used by the ``line`` rule
    first_seen: str = ""
    items: int = 0


@dataclass
class _State:
    money: _Money
    rounding: RoundingRule
    problems: list[Problem] = field(default_factory=list)
    buckets: dict[VatKey, _Bucket] = field(default_factory=dict)

    def add(self, category: str, rate: Decimal | None, amount: Decimal, where: str) -> None:
        key: VatKey = (category, rate)
        bucket = self.buckets.setdefault(key, _Bucket(category, rate, first_seen=where))
        bucket.taxable += amount
        bucket.items += 1
        if rate is not None and category not in ZERO_VAT_CATEGORIES:
            bucket.line_vat += self.money.vat(amount, rate)


def _derive_amount(state: _State, item: _Item, path: str, default_base: Decimal | None) -> _Item:
    """``item``, with its amount computed when it is given as base × percentage."""
    if item.percentage is not None:
        base = item.base_amount if item.base_amount is not None else default_base
        if base is None:
            if item.amount is None:
                state.problems.append(
                    problem_at(
                        f"{path}.base_amount",
                        "a percentage needs a base amount to compute the amount from",
                    )
                )
            return item
        # base × percentage defines the amount (PEPPOL-EN16931-R040); a different amount
        # the ERP supplied is reported by compare_totals, not kept.
        amount = state.money.round(base * item.percentage / HUNDRED)
        return item.model_copy(update={"base_amount": base, "amount": amount})
    if item.amount is None:
        state.problems.append(
            problem_at(f"{path}.amount", "give the amount, or the base amount and a percentage")
        )
    return item


def _calculate_line(state: _State, line: InvoiceLine, index: int) -> InvoiceLine:
    """``line`` with its net price, allowance and charge amounts and net amount computed."""
    path = f"$.lines[{index}]"
    price = line.price
    if price.gross_amount is not None:
        net_price = price.gross_amount - (price.discount or Decimal(0))
        if net_price < 0:
            state.problems.append(
                problem_at(
                    f"{path}.price.discount",
                    "BR-27: the discount is larger than the gross price",
                    rule="BR-27",
                )
            )
            return line
        price = price.model_copy(update={"net_amount": net_price})
    assert price.net_amount is not None  # PriceDetails requires net or gross
    base_quantity = price.base_quantity or Decimal(1)
    extension = state.money.round(line.quantity * price.net_amount / base_quantity)
    allowances = [
        _derive_amount(state, allowance, f"{path}.allowances[{j}]", extension)
        for j, allowance in enumerate(line.allowances)
    ]
    charges = [
        _derive_amount(state, charge, f"{path}.charges[{j}]", extension)
        for j, charge in enumerate(line.charges)
    ]
    allowance_total = sum((a.amount or Decimal(0) for a in allowances), Decimal(0))
    charge_total = sum((c.amount or Decimal(0) for c in charges), Decimal(0))
    net_amount = state.money.round(extension + charge_total - allowance_total)
    _check_rate(state, line.vat.category_code, line.vat.rate, f"{path}.vat.rate")
    state.add(line.vat.category_code, line.vat.rate, net_amount, f"{path}.vat")
    return line.model_copy(
        update={"price": price, "allowances": allowances, "charges": charges, "net_amount": net_amount}
    )


def _calculate_document_item(state: _State, item: _DocumentItem, path: str, sign: Decimal) -> _DocumentItem:
    """A document level allowance (``sign`` −1) or charge (+1), with its amount computed."""
    item = _derive_amount(state, item, path, None)
    _check_rate(state, item.vat_category_code, item.vat_rate, f"{path}.vat_rate")
    if item.amount is not None:
        state.add(item.vat_category_code, item.vat_rate, sign * item.amount, path)
    return item


def _check_rate(state: _State, category: str, rate: Decimal | None, path: str) -> None:
    if category == "O" and rate is not None:
        state.problems.append(
            problem_at(
                path, "BR-O-05: no VAT rate may be given for category O (not subject to VAT)", rule="BR-O-05"
            )
        )
    elif category != "O" and rate is None:
        state.problems.append(
            problem_at(path, f"a VAT rate is required for VAT category {category} (0 for Z, E, AE, K and G)")
        )
    elif category in ZERO_VAT_CATEGORIES - {"O"} and rate not in (None, Decimal(0)):
        state.problems.append(
            problem_at(
                path,
                f"BR-{category_rule_prefix(category)}-05: the VAT rate of category {category} "
                f"must be 0, got {rate}",
                rule=f"BR-{category_rule_prefix(category)}-05",
            )
        )


def _sum(values: Iterable[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))


def calculate(invoice: Invoice, rounding: RoundingRule = RoundingRule.TOTALS) -> Invoice:
    """Return a copy of ``invoice`` with every derived term computed.

    ``invoice`` is never changed. The copy is a new invoice with new lines, and a new
    price, allowance or charge wherever one gets a derived term; all else (parties, items,
    line VAT…) it shares with ``invoice``: copy such a part before changing it in place.

    Raises ``InvoiceProblems`` when a derived term cannot be computed (an allowance with
    neither amount nor percentage, a VAT rate missing for its category…).
    """
    money = _Money(currency_decimals(invoice.currency_code))
    state = _State(money=money, rounding=RoundingRule(rounding))
    lines = [_calculate_line(state, line, index) for index, line in enumerate(invoice.lines)]
    allowances = [
        _calculate_document_item(state, item, f"$.allowances[{j}]", Decimal(-1))
        for j, item in enumerate(invoice.allowances)
    ]
    charges = [
        _calculate_document_item(state, item, f"$.charges[{j}]", Decimal(1))
        for j, item in enumerate(invoice.charges)
    ]
    if state.problems:
        raise InvoiceProblems(state.problems)
    if not lines:
        return _summary(money, invoice, allowances, charges)

    result = invoice.model_copy(
        update={
            "lines": lines,
            "allowances": allowances,
            "charges": charges,
            "vat_breakdown": _breakdown(state, invoice.vat_breakdown),
        }
    )
    result.totals = _totals(money, result)
    return result


def _summary(
    money: _Money, invoice: Invoice, allowances: list[DocumentAllowance], charges: list[DocumentCharge]
) -> Invoice:
    """A line-less invoice (a Factur-X MINIMUM / BASIC WL summary): its totals as stated.

    Without lines nothing can be summed, so the stated VAT breakdown and totals stay as
    they are; only a total that follows from stated ones by the EN 16931 arithmetic
    (BR-CO-13, 15, 16) is filled in where it is missing. BR-16 (an invoice has lines) is
    reported by the business rules, not here: reading such a summary must work.
    """
    given = invoice.totals
    allowance_total = given.allowance_total
    if allowance_total is None and allowances:
        allowance_total = money.round(_sum(a.amount for a in allowances))
    charge_total = given.charge_total
    if charge_total is None and charges:
        charge_total = money.round(_sum(c.amount for c in charges))
    tax_exclusive = given.tax_exclusive_amount
    if tax_exclusive is None and given.line_net_total is not None:
        tax_exclusive = money.round(given.line_net_total - (allowance_total or 0) + (charge_total or 0))
    vat_total = given.vat_total
    if vat_total is None and invoice.vat_breakdown:
        amounts = [b.tax_amount for b in invoice.vat_breakdown]
        if all(amount is not None for amount in amounts):
            vat_total = money.round(_sum(amounts))
    tax_inclusive = given.tax_inclusive_amount
    if tax_inclusive is None and tax_exclusive is not None:
        tax_inclusive = money.round(tax_exclusive + (vat_total or 0))
    amount_due = given.amount_due
    if amount_due is None and tax_inclusive is not None:
        amount_due = money.round(tax_inclusive - (given.paid_amount or 0) + (given.rounding_amount or 0))
    totals = given.model_copy(
        update={
            "allowance_total": allowance_total,
            "charge_total": charge_total,
            "tax_exclusive_amount": tax_exclusive,
            "vat_total": vat_total,
            "tax_inclusive_amount": tax_inclusive,
            "amount_due": amount_due,
        }
    )
    return invoice.model_copy(update={"allowances": allowances, "charges": charges, "totals": totals})


def _breakdown(state: _State, given: list[VatBreakdown]) -> list[VatBreakdown]:
    """One BG-23 per category and rate, keeping exemption reasons given for it."""
    reasons: dict[tuple[str, Decimal | None], VatBreakdown] = {}
    for entry in given:
        reasons.setdefault((entry.category_code, entry.rate), entry)
        if entry.category_code in ZERO_VAT_CATEGORIES and entry.rate is None:
            # an exemption reason given without the (always zero) rate still applies
            reasons.setdefault((entry.category_code, Decimal(0)), entry)
    out: list[VatBreakdown] = []
    for key, bucket in state.buckets.items():
        taxable = state.money.round(bucket.taxable)
        if bucket.category in ZERO_VAT_CATEGORIES or bucket.rate is None:
            tax = state.money.round(Decimal(0))
        elif state.rounding is RoundingRule.LINE:
            tax = state.money.round(bucket.line_vat)
        else:
            tax = state.money.vat(taxable, bucket.rate)
        kept = reasons.get(key)
        out.append(
            VatBreakdown(
                taxable_amount=taxable,
                tax_amount=tax,
                category_code=bucket.category,
                rate=bucket.rate,
                exemption_reason=kept.exemption_reason if kept else None,
                exemption_reason_code=kept.exemption_reason_code if kept else None,
            )
        )
    return out


def _totals(money: _Money, invoice: Invoice) -> DocumentTotals:
    given = invoice.totals
    line_net_total = money.round(_sum(line.net_amount for line in invoice.lines))
    allowance_total = money.round(_sum(a.amount for a in invoice.allowances)) if invoice.allowances else None
    charge_total = money.round(_sum(c.amount for c in invoice.charges)) if invoice.charges else None
    tax_exclusive = line_net_total - (allowance_total or 0) + (charge_total or 0)
    vat_total = money.round(_sum(b.tax_amount for b in invoice.vat_breakdown))
    tax_inclusive = tax_exclusive + vat_total
    amount_due = tax_inclusive - (given.paid_amount or 0) + (given.rounding_amount or 0)
    return DocumentTotals(
        line_net_total=line_net_total,
        allowance_total=allowance_total,
        charge_total=charge_total,
        tax_exclusive_amount=money.round(tax_exclusive),
        vat_total=vat_total,
        vat_total_in_tax_currency=given.vat_total_in_tax_currency,
        tax_inclusive_amount=money.round(tax_inclusive),
        paid_amount=given.paid_amount,
        rounding_amount=given.rounding_amount,
        amount_due=money.round(amount_due),
    )
