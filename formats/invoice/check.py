"""Check an invoice end to end: read, validate the model, calculate, compare, apply rules.

``check_invoice`` never raises for a bad invoice; it returns a ``CheckResult`` whose
``problems`` say what is wrong, each with its JSON path, BT id and rule. Only unreadable
input (not JSON, too large) raises ``InvoiceInputError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from formats.errors import InvoiceProblems
from formats.invoice.calculate import RoundingRule, calculate
from formats.invoice.compare import Disagreement, compare_totals
from formats.invoice.load import load_json
from formats.invoice.model import Invoice
from formats.invoice.problems import (
    Problem,
    Severity,
    from_validation_error,
    problem_at,
    sort_problems,
)
from formats.invoice.rules import check_rules


@dataclass
class CheckResult:
    """What a check found: the parsed and calculated invoice, and every problem."""

    invoice: Invoice | None = None
    calculated: Invoice | None = None
    disagreements: list[Disagreement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)


def parse_invoice(data: dict[str, Any]) -> Invoice:
    """Validate plain data into an ``Invoice`` or raise ``InvoiceProblems``."""
    try:
        return Invoice.model_validate(data)
    except ValidationError as exc:
        raise InvoiceProblems(from_validation_error(exc)) from None


def check_invoice(
    source: bytes | str | dict[str, Any] | Invoice,
    rounding: RoundingRule = RoundingRule.TOTALS,
) -> CheckResult:
    rounding = RoundingRule(rounding)
    result = CheckResult()
    if isinstance(source, Invoice):
        result.invoice = source
    else:
        data = source if isinstance(source, dict) else load_json(source)
        try:
            result.invoice = parse_invoice(data)
        except InvoiceProblems as exc:
            result.problems = sort_problems(exc.problems)
            return result
    try:
        result.calculated = calculate(result.invoice, rounding)
    except InvoiceProblems as exc:
        result.problems = sort_problems(exc.problems)
        return result
    result.disagreements = compare_totals(result.invoice, result.calculated)
    problems = [d.to_problem() for d in result.disagreements]
    if result.disagreements:
        problems.extend(_rounding_hint(result.invoice, rounding))
    problems.extend(check_rules(result.calculated))
    result.problems = sort_problems(problems)
    return result


def _rounding_hint(invoice: Invoice, rounding: RoundingRule) -> list[Problem]:
    """If the other rounding rule reproduces the ERP's figures, say so."""
    other = RoundingRule.LINE if rounding is RoundingRule.TOTALS else RoundingRule.TOTALS
    try:
        alternative = calculate(invoice, other)
    except InvoiceProblems:
        return []
    if compare_totals(invoice, alternative):
        return []
    return [
        problem_at(
            "$.vat_breakdown",
            f"the supplied amounts match the {other.value!r} rounding rule exactly; "
            f"check with rounding={other.value!r} if that is how your ERP rounds VAT",
            severity=Severity.WARNING,
            term="BG-23",
        )
    ]
