"""The format-independent half of writing an invoice: calculate it, then judge what was supplied.

Every writer (UBL, CII) starts the same way: derive the missing amounts, then either
refuse supplied amounts that disagree with the calculation (an ERP's invoice) or keep
them as stated (a document received from a third party). Keeping this in one place means
both syntaxes accept and refuse exactly the same invoices.
"""

from __future__ import annotations

from formats.errors import InvoiceProblems, SerializeError
from formats.invoice.calculate import RoundingRule, calculate
from formats.invoice.compare import compare_totals
from formats.invoice.model import Invoice


def calculated(
    invoice: Invoice, rounding: RoundingRule = RoundingRule.TOTALS, *, keep_supplied: bool = False
) -> Invoice:
    """The invoice with every derived amount; ``SerializeError`` if it cannot be calculated.

    By default every supplied derived amount must agree with the calculation. With
    ``keep_supplied`` the amounts the sender stated are kept as stated and only missing
    ones are calculated: a conversion must not change what the sender invoiced, and the
    official rules judge whether its arithmetic holds.
    """
    try:
        result = calculate(invoice, rounding)
    except InvoiceProblems as exc:
        raise SerializeError("the invoice cannot be calculated", exc.problems) from None
    if keep_supplied:
        return overlay(invoice, result)
    disagreements = compare_totals(invoice, result)
    if disagreements:
        raise SerializeError(
            "supplied amounts disagree with the calculation",
            [d.to_problem() for d in disagreements],
        )
    return result


def overlay(supplied: Invoice, calculated: Invoice) -> Invoice:
    """``calculated`` with every derived amount the sender stated put back as stated."""
    result = calculated.model_copy(deep=True)
    for given, line in zip(supplied.lines, result.lines, strict=True):
        if given.net_amount is not None:
            line.net_amount = given.net_amount
        if given.price.net_amount is not None:
            line.price.net_amount = given.price.net_amount
        for kind in ("allowances", "charges"):
            for g, c in zip(getattr(given, kind), getattr(line, kind), strict=True):
                if g.amount is not None:
                    c.amount = g.amount
    for kind in ("allowances", "charges"):
        for g, c in zip(getattr(supplied, kind), getattr(result, kind), strict=True):
            if g.amount is not None:
                c.amount = g.amount
    if any(b.taxable_amount is not None or b.tax_amount is not None for b in supplied.vat_breakdown):
        result.vat_breakdown = [b.model_copy() for b in supplied.vat_breakdown]
    stated = supplied.totals.model_dump(exclude_none=True)
    result.totals = result.totals.model_copy(update=stated)
    return result
