"""compare_totals(): derived values an ERP supplied are checked, never silently replaced."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from formats.invoice import (
    Disagreement,
    RoundingRule,
    Severity,
    calculate,
    check_invoice,
    compare_totals,
    parse_invoice,
)

D = Decimal


def disagreements(data: dict[str, Any], rounding: RoundingRule = RoundingRule.TOTALS) -> list[Disagreement]:
    invoice = parse_invoice(data)
    return compare_totals(invoice, calculate(invoice, rounding))


def only(data: dict[str, Any]) -> Disagreement:
    [found] = disagreements(data)
    return found


def test_nothing_supplied_nothing_reported(minimal_invoice):
    assert disagreements(minimal_invoice) == []


def test_agreeing_values_report_nothing(make_invoice, make_line):
    data = make_invoice(
        lines=[
            make_line(1, "2", "10.00", net_amount="20.00"),
            make_line(
                2, "1", "5.00", "S", "7", allowances=[{"amount": "1.00", "reason": "x"}], net_amount="4.00"
            ),
        ],
        allowances=[{"amount": "2.00", "vat_category_code": "S", "vat_rate": "19", "reason": "x"}],
        vat_breakdown=[
            {"category_code": "S", "rate": "19", "taxable_amount": "18.00", "tax_amount": "3.42"},
            {"category_code": "S", "rate": "7.0", "taxable_amount": "4.00", "tax_amount": "0.28"},
        ],
        totals={
            "line_net_total": "24.00",
            "allowance_total": "2.00",
            "tax_exclusive_amount": "22.00",
            "vat_total": "3.70",
            "tax_inclusive_amount": "25.70",
            "paid_amount": "5.70",
            "amount_due": "20.00",
        },
    )
    assert disagreements(data) == []
    assert check_invoice(data).problems == []


def test_a_fully_calculated_invoice_checks_clean(make_invoice, make_line):
    data = make_invoice(lines=[make_line(i, "3", "0.333") for i in range(1, 6)])
    calculated = calculate(parse_invoice(data))
    again = calculated.model_dump(mode="json", exclude_none=True)
    assert check_invoice(again).problems == []


def test_supplied_line_net_that_disagrees(make_invoice, make_line):
    found = only(make_invoice(lines=[make_line(1, "2", "10.00", net_amount="20.01")]))
    assert found.path == "$.lines[0].net_amount"
    assert found.term == "BT-131"
    assert (found.supplied, found.calculated) == (D("20.01"), D("20.00"))
    problem = found.to_problem()
    assert problem.term == "BT-131"
    assert problem.severity is Severity.ERROR
    assert problem.message == "BT-131 supplied 20.01, calculated 20.00"


def test_supplied_net_price_that_disagrees_with_gross_minus_discount(make_invoice, make_line):
    line = make_line(1, "1", None)
    line["price"] = {"net_amount": "9.00", "gross_amount": "10.00", "discount": "0.50"}
    found = only(make_invoice(lines=[line]))
    assert (found.path, found.term) == ("$.lines[0].price.net_amount", "BT-146")
    assert (found.supplied, found.calculated) == (D("9.00"), D("9.50"))


def test_amounts_compare_by_value_not_by_spelling(make_invoice, make_line):
    assert disagreements(make_invoice(lines=[make_line(1, "2", "10", net_amount="20")])) == []


@pytest.mark.parametrize(
    ("field", "term", "supplied", "calculated"),
    [
        ("line_net_total", "BT-106", "99.00", "100.00"),
        ("tax_exclusive_amount", "BT-109", "99.00", "100.00"),
        ("vat_total", "BT-110", "19.01", "19.00"),
        ("tax_inclusive_amount", "BT-112", "120.00", "119.00"),
        ("amount_due", "BT-115", "100.00", "119.00"),
    ],
)
def test_supplied_total_that_disagrees(minimal_invoice, field, term, supplied, calculated):
    minimal_invoice["totals"] = {field: supplied}
    found = only(minimal_invoice)
    assert found.path == f"$.totals.{field}"
    assert found.term == term
    assert (found.supplied, found.calculated) == (D(supplied), D(calculated))
    message = found.to_problem().message
    assert term in message
    assert supplied in message
    assert calculated in message


def test_supplied_zero_allowance_total_without_allowances_agrees(minimal_invoice):
    """Senders often state BT-107/BT-108 as 0.00 when there is nothing to sum."""
    minimal_invoice["totals"] = {"allowance_total": "0.00", "charge_total": "0.00"}
    assert check_invoice(minimal_invoice).disagreements == []


def test_supplied_allowance_total_without_allowances(minimal_invoice):
    minimal_invoice["totals"] = {"allowance_total": "5.00"}
    found = only(minimal_invoice)
    assert (found.path, found.term, found.supplied, found.calculated) == (
        "$.totals.allowance_total",
        "BT-107",
        D("5.00"),
        None,
    )
    assert "no such value" in found.to_problem().message


@pytest.mark.parametrize(
    ("field", "term", "supplied", "calculated"),
    [("taxable_amount", "BT-116", "101.00", "100.00"), ("tax_amount", "BT-117", "19.19", "19.00")],
)
def test_supplied_breakdown_that_disagrees(minimal_invoice, field, term, supplied, calculated):
    minimal_invoice["vat_breakdown"] = [{"category_code": "S", "rate": "19", field: supplied}]
    found = only(minimal_invoice)
    assert found.path == f"$.vat_breakdown[0].{field}"
    assert found.term == term
    assert (found.supplied, found.calculated) == (D(supplied), D(calculated))
    assert found.to_problem().message == f"{term} supplied {supplied}, calculated {calculated}"


def test_breakdown_entry_for_a_category_no_line_uses(minimal_invoice):
    minimal_invoice["vat_breakdown"] = [
        {"category_code": "S", "rate": "19", "taxable_amount": "100.00", "tax_amount": "19.00"},
        {"category_code": "S", "rate": "7", "taxable_amount": "10.00", "tax_amount": "0.70"},
    ]
    found = only(minimal_invoice)
    assert found.path == "$.vat_breakdown[1].category_code"
    assert found.term == "BT-118"
    problem = found.to_problem()
    assert "S" in problem.message
    assert "7" in problem.message
    assert "nothing to apply to" in problem.message


def test_breakdown_entry_with_only_a_reason_for_an_unused_category(minimal_invoice):
    minimal_invoice["vat_breakdown"] = [{"category_code": "E", "rate": "0", "exemption_reason": "Art. 132"}]
    found = only(minimal_invoice)
    assert found.path == "$.vat_breakdown[0].category_code"
    assert "E" in found.to_problem().message


def test_supplied_breakdown_missing_a_used_category(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1), make_line(2, "1", "10.00", "S", "7")],
        vat_breakdown=[
            {"category_code": "S", "rate": "19", "taxable_amount": "100.00", "tax_amount": "19.00"}
        ],
    )
    found = only(data)
    assert found.term == "BG-23"
    assert found.path == "$.vat_breakdown[category S 7 %]"
    assert (found.supplied, found.calculated) == (None, D("10.00"))


def test_reasons_only_breakdown_need_not_list_every_category(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1), make_line(2, "1", "10.00", "E", "0")],
        vat_breakdown=[{"category_code": "E", "rate": "0", "exemption_reason": "Art. 132"}],
    )
    assert disagreements(data) == []


def test_supplied_line_allowance_amount_kept_and_compared(make_invoice, make_line):
    data = make_invoice(lines=[make_line(1, "1", "100.00", allowances=[{"amount": "10.00", "reason": "x"}])])
    result = calculate(parse_invoice(data))
    assert result.lines[0].allowances[0].amount == D("10.00")
    assert disagreements(data) == []


def test_supplied_allowance_amount_that_disagrees_with_base_times_percentage(minimal_invoice):
    minimal_invoice["allowances"] = [
        {
            "amount": "7.00",
            "base_amount": "100.00",
            "percentage": "5",
            "vat_category_code": "S",
            "vat_rate": "19",
            "reason": "x",
        }
    ]
    found = only(minimal_invoice)
    assert (found.path, found.term) == ("$.allowances[0].amount", "BT-92")
    assert (found.supplied, found.calculated) == (D("7.00"), D("5.00"))


def test_supplied_line_charge_amount_that_disagrees_with_percentage(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, "2", "50.00", charges=[{"amount": "9.99", "percentage": "10", "reason": "x"}])]
    )
    found = disagreements(data)
    assert [(d.path, d.term, d.supplied, d.calculated) for d in found] == [
        ("$.lines[0].charges[0].amount", "BT-141", D("9.99"), D("10.00"))
    ]


def test_breakdown_entry_without_the_zero_rate_matches(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, "1", "10.00", "E", "0")],
        vat_breakdown=[
            {"category_code": "E", "taxable_amount": "10.00", "tax_amount": "0.00", "exemption_reason": "x"}
        ],
    )
    assert disagreements(data) == []
    assert check_invoice(data).problems == []


def test_every_disagreement_is_reported(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, "2", "10.00", net_amount="20.01")],
        vat_breakdown=[{"category_code": "S", "rate": "19", "taxable_amount": "20.01", "tax_amount": "3.80"}],
        totals={"line_net_total": "20.01", "amount_due": "23.81"},
    )
    terms = [d.term for d in disagreements(data)]
    assert terms == ["BT-131", "BT-116", "BT-106", "BT-115"]


# ---------------------------------------------------------------- an ERP that rounds VAT per line


@pytest.fixture
def erp_rounded_per_line(make_invoice, make_line):
    """Ten lines of 1 × 0.10 at 19 %: VAT 0.20 rounded per line (0.19 on the total)."""
    return make_invoice(
        lines=[make_line(i, "1", "0.10", net_amount="0.10") for i in range(1, 11)],
        vat_breakdown=[{"category_code": "S", "rate": "19", "taxable_amount": "1.00", "tax_amount": "0.20"}],
        totals={
            "line_net_total": "1.00",
            "tax_exclusive_amount": "1.00",
            "vat_total": "0.20",
            "tax_inclusive_amount": "1.20",
            "amount_due": "1.20",
        },
    )


def test_line_rounded_vat_checked_with_totals_rule(erp_rounded_per_line):
    result = check_invoice(erp_rounded_per_line, RoundingRule.TOTALS)
    assert not result.ok
    errors = {p.term: p for p in result.problems if p.severity is Severity.ERROR}
    assert "BT-117" in errors
    assert errors["BT-117"].path == "$.vat_breakdown[0].tax_amount"
    assert "0.20" in errors["BT-117"].message
    assert "0.19" in errors["BT-117"].message
    assert {"BT-110", "BT-112", "BT-115"} <= set(errors)
    [hint] = [p for p in result.problems if p.severity is Severity.WARNING]
    assert hint.term == "BG-23"
    assert "'line'" in hint.message


def test_line_rounded_vat_checked_with_line_rule(erp_rounded_per_line):
    result = check_invoice(erp_rounded_per_line, RoundingRule.LINE)
    assert result.ok
    assert result.problems == []


def test_totals_rounded_vat_checked_with_line_rule_hints_totals(erp_rounded_per_line):
    erp_rounded_per_line["vat_breakdown"][0]["tax_amount"] = "0.19"
    erp_rounded_per_line["totals"].update(vat_total="0.19", tax_inclusive_amount="1.19", amount_due="1.19")
    assert check_invoice(erp_rounded_per_line, RoundingRule.TOTALS).problems == []
    result = check_invoice(erp_rounded_per_line, RoundingRule.LINE)
    [hint] = [p for p in result.problems if p.severity is Severity.WARNING]
    assert "'totals'" in hint.message


def test_no_hint_when_neither_rule_matches(erp_rounded_per_line):
    erp_rounded_per_line["totals"]["amount_due"] = "5.00"
    result = check_invoice(erp_rounded_per_line, RoundingRule.TOTALS)
    assert not [p for p in result.problems if p.severity is Severity.WARNING]


def test_rounding_hint_with_rule_given_as_string(erp_rounded_per_line):
    result = check_invoice(erp_rounded_per_line, "totals")  # type: ignore[arg-type]
    assert [p.term for p in result.problems if p.severity is Severity.WARNING] == ["BG-23"]
