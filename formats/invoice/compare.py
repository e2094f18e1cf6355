"""Compare the derived terms an ERP supplied with the calculated ones.

The gateway never silently overwrites what a seller's ERP sent: where the ERP gave a
line net, an allowance amount, a VAT breakdown or a total, ``compare_totals`` reports
every value that differs from ``calculate()``'s, with its BT id and both values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from formats.invoice.calculate import ZERO_VAT_CATEGORIES
from formats.invoice.model import Invoice, VatBreakdown
from formats.invoice.problems import Problem, Severity
from formats.invoice.terms import term_for_path

_TOTAL_FIELDS = (
    "line_net_total",
    "allowance_total",
    "charge_total",
    "tax_exclusive_amount",
    "vat_total",
    "tax_inclusive_amount",
    "amount_due",
)


@dataclass(frozen=True)
class Disagreement:
    """A value the ERP supplied that differs from the calculated one."""

    path: str
    term: str | None
    supplied: Decimal | None
    calculated: Decimal | None
    note: str | None = None

    def to_problem(self) -> Problem:
        if self.note is not None:
            message = self.note
        elif self.supplied is None:
            message = f"missing: the calculation gives {self.calculated}"
        elif self.calculated is None:
            message = f"supplied {self.supplied}, but the calculation has no such value"
        else:
            message = f"supplied {self.supplied}, calculated {self.calculated}"
        name = f"{self.term} " if self.term else ""
        return Problem(path=self.path, message=f"{name}{message}", term=self.term, severity=Severity.ERROR)


def _differs(supplied: Decimal | None, calculated: Decimal | None) -> bool:
    return supplied is not None and supplied != calculated


def _at(path: str, supplied: Decimal | None, calculated: Decimal | None) -> Disagreement:
    term = term_for_path(path)
    return Disagreement(path, term.id if term else None, supplied, calculated)


def compare_totals(supplied: Invoice, calculated: Invoice) -> list[Disagreement]:
    """Every derived value present in ``supplied`` that differs from ``calculated``."""
    return list(_compare(supplied, calculated))


def _compare(supplied: Invoice, calculated: Invoice) -> Iterator[Disagreement]:
    for i, (given, done) in enumerate(zip(supplied.lines, calculated.lines, strict=True)):
        base = f"$.lines[{i}]"
        if _differs(given.price.net_amount, done.price.net_amount):
            yield _at(f"{base}.price.net_amount", given.price.net_amount, done.price.net_amount)
        for kind in ("allowances", "charges"):
            pairs = zip(getattr(given, kind), getattr(done, kind), strict=True)
            for j, (g, d) in enumerate(pairs):
                if _differs(g.amount, d.amount):
                    yield _at(f"{base}.{kind}[{j}].amount", g.amount, d.amount)
        if _differs(given.net_amount, done.net_amount):
            yield _at(f"{base}.net_amount", given.net_amount, done.net_amount)

    for kind in ("allowances", "charges"):
        pairs = zip(getattr(supplied, kind), getattr(calculated, kind), strict=True)
        for j, (g, d) in enumerate(pairs):
            if _differs(g.amount, d.amount):
                yield _at(f"$.{kind}[{j}].amount", g.amount, d.amount)

    yield from _compare_breakdown(supplied.vat_breakdown, calculated.vat_breakdown)

    for name in _TOTAL_FIELDS:
        given_total = getattr(supplied.totals, name)
        done_total = getattr(calculated.totals, name)
        if done_total is None and given_total == 0:
            continue  # BT-107/BT-108 given as 0.00 where there are no allowances/charges
        if _differs(given_total, done_total):
            yield _at(f"$.totals.{name}", given_total, done_total)


def _compare_breakdown(
    supplied: list[VatBreakdown], calculated: list[VatBreakdown]
) -> Iterator[Disagreement]:
    done = {(b.category_code, b.rate): b for b in calculated}
    supplied_amounts = any(b.taxable_amount is not None or b.tax_amount is not None for b in supplied)
    seen = set()
    for i, given in enumerate(supplied):
        key = (given.category_code, given.rate)
        if key not in done and given.category_code in ZERO_VAT_CATEGORIES and given.rate is None:
            key = (given.category_code, Decimal(0))  # the rate of these categories is zero
        seen.add(key)
        path = f"$.vat_breakdown[{i}]"
        match = done.get(key)
        if match is None:
            rate = "no rate" if given.rate is None else f"rate {given.rate} %"
            yield Disagreement(
                f"{path}.category_code",
                "BT-118",
                given.taxable_amount,
                None,
                note=f"no line, allowance or charge has VAT category {given.category_code} "
                f"with {rate}, so this breakdown entry has nothing to apply to",
            )
            continue
        if _differs(given.taxable_amount, match.taxable_amount):
            yield _at(f"{path}.taxable_amount", given.taxable_amount, match.taxable_amount)
        if _differs(given.tax_amount, match.tax_amount):
            yield _at(f"{path}.tax_amount", given.tax_amount, match.tax_amount)
    if supplied_amounts:
        # The ERP sent a breakdown with amounts: a category it left out is a disagreement.
        for key, match in done.items():
            if key not in seen:
                rate = "" if key[1] is None else f" {key[1]} %"
                yield Disagreement(
                    f"$.vat_breakdown[category {key[0]}{rate}]",
                    "BG-23",
                    None,
                    match.taxable_amount,
                )
