"""calculate(): line nets, allowances and charges, the VAT breakdown and the totals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from formats.errors import InvoiceProblems
from formats.invoice import Invoice, RoundingRule, calculate, parse_invoice

D = Decimal


def calc(data: dict[str, Any], rounding: RoundingRule = RoundingRule.TOTALS) -> Invoice:
    return calculate(parse_invoice(data), rounding)


def problems_of(data: dict[str, Any]) -> list[Any]:
    with pytest.raises(InvoiceProblems) as info:
        calc(data)
    return info.value.problems


def decimals_in(value: Any) -> list[Decimal]:
    """Every Decimal anywhere in a ``model_dump()``."""
    if isinstance(value, Decimal):
        return [value]
    if isinstance(value, dict):
        return [d for v in value.values() for d in decimals_in(v)]
    if isinstance(value, list):
        return [d for v in value for d in decimals_in(v)]
    return []


# ---------------------------------------------------------------- the docstring's example


@pytest.fixture
def ten_dimes(make_invoice, make_line):
    """Ten lines of 1 × 0.10 EUR at 19 % (calculate.py's worked example)."""
    return make_invoice(lines=[make_line(i, "1", "0.10", "S", "19") for i in range(1, 11)])


def test_worked_example_line_rounding_gives_0_20(ten_dimes):
    result = calc(ten_dimes, RoundingRule.LINE)
    [entry] = result.vat_breakdown
    assert entry.taxable_amount == D("1.00")
    assert entry.tax_amount == D("0.20")
    assert result.totals.vat_total == D("0.20")
    assert result.totals.amount_due == D("1.20")


def test_worked_example_totals_rounding_gives_0_19(ten_dimes):
    result = calc(ten_dimes, RoundingRule.TOTALS)
    [entry] = result.vat_breakdown
    assert entry.taxable_amount == D("1.00")
    assert entry.tax_amount == D("0.19")
    assert result.totals.vat_total == D("0.19")
    assert result.totals.amount_due == D("1.19")


def test_totals_is_the_default_rule(ten_dimes):
    assert calculate(parse_invoice(ten_dimes)).totals.vat_total == D("0.19")


def test_rounding_rule_may_be_given_as_its_string_value(ten_dimes):
    assert calc(ten_dimes, "line").totals.vat_total == D("0.20")  # type: ignore[arg-type]


# ---------------------------------------------------------------- lines


def test_net_price_is_gross_minus_discount(make_invoice, make_line):
    line = make_line(1, "2", None)
    line["price"] = {"gross_amount": "38.90", "discount": "3.90"}
    result = calc(make_invoice(lines=[line]))
    assert result.lines[0].price.net_amount == D("35.00")
    assert result.lines[0].net_amount == D("70.00")


def test_discount_larger_than_gross_price_is_a_problem(make_invoice, make_line):
    line = make_line(1, "1", None)
    line["price"] = {"gross_amount": "5.00", "discount": "6.00"}
    [problem] = problems_of(make_invoice(lines=[line]))
    assert problem.path == "$.lines[0].price.discount"
    assert problem.rule == "BR-27"
    assert problem.term == "BT-147"


def test_base_quantity_divides_the_price(make_invoice, make_line):
    line = make_line(1, "250", None)
    line["price"] = {"net_amount": "12.50", "base_quantity": "100", "base_quantity_unit_code": "C62"}
    result = calc(make_invoice(lines=[line]))
    assert result.lines[0].net_amount == D("31.25")
    assert result.totals.line_net_total == D("31.25")


def test_line_net_rounds_half_away_from_zero(make_invoice, make_line):
    # 3 × 0.835 = 2.505 → 2.51 (half-even would give 2.50)
    result = calc(make_invoice(lines=[make_line(1, "3", "0.835")]))
    assert result.lines[0].net_amount == D("2.51")


def test_line_allowance_percentage_applies_to_quantity_times_price_by_default(make_invoice, make_line):
    line = make_line(1, "3", "20.00", allowances=[{"percentage": "10", "reason": "Loyalty"}])
    result = calc(make_invoice(lines=[line]))
    allowance = result.lines[0].allowances[0]
    assert allowance.base_amount == D("60.00")
    assert allowance.amount == D("6.00")
    assert result.lines[0].net_amount == D("54.00")


def test_line_charge_percentage_with_its_own_base(make_invoice, make_line):
    line = make_line(
        1,
        "1",
        "100.00",
        charges=[{"base_amount": "10.00", "percentage": "5", "reason": "Packing"}],
        allowances=[{"amount": "2.50", "reason": "Rebate"}],
    )
    result = calc(make_invoice(lines=[line]))
    assert result.lines[0].charges[0].amount == D("0.50")
    assert result.lines[0].net_amount == D("98.00")  # 100.00 + 0.50 − 2.50


def test_negative_quantity_gives_a_negative_line_net(make_invoice, make_line):
    result = calc(make_invoice(lines=[make_line(1, "-2", "10.005")]))
    assert result.lines[0].net_amount == D("-20.01")  # −20.010 exactly; half away from zero
    assert result.vat_breakdown[0].tax_amount == D("-3.80")  # −20.01 × 19 % = −3.8019
    assert result.totals.amount_due == D("-23.81")


def test_negative_half_cent_rounds_away_from_zero(make_invoice, make_line):
    result = calc(make_invoice(lines=[make_line(1, "-1", "0.005")]))
    assert result.lines[0].net_amount == D("-0.01")


# ---------------------------------------------------------------- document allowances and charges


def test_document_allowance_and_charge_from_base_times_percentage(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, "2", "100.00")],
        allowances=[
            {
                "base_amount": "200.00",
                "percentage": "2.5",
                "vat_category_code": "S",
                "vat_rate": "19",
                "reason": "Early order",
            }
        ],
        charges=[
            {
                "base_amount": "33.33",
                "percentage": "3",
                "vat_category_code": "S",
                "vat_rate": "19",
                "reason_code": "FC",
            }
        ],
    )
    result = calc(data)
    assert result.allowances[0].amount == D("5.00")
    assert result.charges[0].amount == D("1.00")  # 0.9999 rounded
    assert result.totals.allowance_total == D("5.00")
    assert result.totals.charge_total == D("1.00")
    assert result.totals.tax_exclusive_amount == D("196.00")
    assert result.vat_breakdown[0].taxable_amount == D("196.00")


def test_no_document_allowances_means_no_allowance_total(make_invoice):
    result = calc(make_invoice())
    assert result.totals.allowance_total is None
    assert result.totals.charge_total is None


# ---------------------------------------------------------------- BR-CO-10 … BR-CO-16


@pytest.fixture
def hand_computed(make_invoice, make_line):
    discounted = make_line(3, "2", None, "S", "7")
    discounted["price"] = {"gross_amount": "38.90", "discount": "3.90"}
    return make_invoice(
        lines=[
            make_line(1, "4", "1250.00", "S", "19"),  # 5000.00
            make_line(2, "12.5", "95.00", "S", "19"),  # 1187.50
            discounted,  # 2 × 35.00 = 70.00
            make_line(4, "3", "19.99", "Z", "0"),  # 59.97
        ],
        allowances=[{"amount": "100.00", "vat_category_code": "S", "vat_rate": "19", "reason": "Bonus"}],
        charges=[{"amount": "25.00", "vat_category_code": "S", "vat_rate": "7", "reason": "Freight"}],
        totals={"paid_amount": "1000.00", "rounding_amount": "0.25"},
    )


def test_br_co_10_to_16_on_a_hand_computed_invoice(hand_computed):
    result = calc(hand_computed)
    assert [line.net_amount for line in result.lines] == [D("5000.00"), D("1187.50"), D("70.00"), D("59.97")]
    totals = result.totals
    assert totals.line_net_total == D("6317.47")  # BR-CO-10
    assert totals.allowance_total == D("100.00")  # BR-CO-11
    assert totals.charge_total == D("25.00")  # BR-CO-12
    assert totals.tax_exclusive_amount == D("6242.47")  # BR-CO-13
    breakdown = {(b.category_code, b.rate): (b.taxable_amount, b.tax_amount) for b in result.vat_breakdown}
    assert breakdown == {
        ("S", D("19")): (D("6087.50"), D("1156.63")),  # 1156.625: half up, not half even
        ("S", D("7")): (D("95.00"), D("6.65")),
        ("Z", D("0")): (D("59.97"), D("0.00")),
    }
    assert totals.vat_total == D("1163.28")  # BR-CO-14
    assert totals.tax_inclusive_amount == D("7405.75")  # BR-CO-15
    assert totals.paid_amount == D("1000.00")
    assert totals.rounding_amount == D("0.25")
    assert totals.amount_due == D("6406.00")  # BR-CO-16


def test_breakdown_follows_first_use_order(hand_computed):
    result = calc(hand_computed)
    assert [(b.category_code, b.rate) for b in result.vat_breakdown] == [
        ("S", D("19")),
        ("S", D("7")),
        ("Z", D("0")),
    ]


@pytest.mark.parametrize(
    ("paid", "rounding", "due"),
    [
        (None, None, "119.00"),
        ("19.00", None, "100.00"),
        (None, "0.01", "119.01"),
        ("19.00", "-0.01", "99.99"),
        ("119.00", None, "0.00"),
        ("200.00", None, "-81.00"),
    ],
)
def test_paid_and_rounding_amounts_feed_amount_due(make_invoice, paid, rounding, due):
    totals = {k: v for k, v in (("paid_amount", paid), ("rounding_amount", rounding)) if v is not None}
    result = calc(make_invoice(totals=totals))
    assert result.totals.tax_inclusive_amount == D("119.00")
    assert result.totals.amount_due == D(due)


# ---------------------------------------------------------------- categories and currencies


@pytest.mark.parametrize(
    ("category", "rate"), [("Z", "0"), ("E", "0"), ("AE", "0"), ("K", "0"), ("G", "0"), ("O", None)]
)
@pytest.mark.parametrize("rounding", list(RoundingRule))
def test_zero_vat_categories(make_invoice, make_line, category, rate, rounding):
    result = calc(make_invoice(lines=[make_line(1, "3", "33.33", category, rate)]), rounding)
    [entry] = result.vat_breakdown
    assert entry.category_code == category
    assert entry.rate == (None if rate is None else D(rate))
    assert entry.taxable_amount == D("99.99")
    assert entry.tax_amount == D("0.00")
    assert result.totals.vat_total == D("0.00")
    assert result.totals.amount_due == D("99.99")


def test_jpy_rounds_to_whole_yen(make_invoice, make_line):
    data = make_invoice(
        currency_code="JPY",
        lines=[make_line(1, "3", "333.5", "S", "10"), make_line(2, "1", "1005", "S", "8")],
    )
    result = calc(data)
    assert result.lines[0].net_amount == D("1001")  # 1000.5 → 1001
    assert result.lines[1].net_amount == D("1005")
    vat = {b.rate: b.tax_amount for b in result.vat_breakdown}
    assert vat == {D("10"): D("100"), D("8"): D("80")}  # 100.1 → 100; 80.4 → 80
    assert result.totals.amount_due == D("2186")
    derived = [result.lines[0].net_amount, result.lines[1].net_amount, *vat.values()]
    derived += [result.totals.line_net_total, result.totals.vat_total, result.totals.amount_due]
    assert all(amount is not None and amount.as_tuple().exponent == 0 for amount in derived)


def test_jpy_half_yen_vat_rounds_up(make_invoice, make_line):
    result = calc(make_invoice(currency_code="JPY", lines=[make_line(1, "1", "1005", "S", "10")]))
    assert result.totals.vat_total == D("101")  # 100.5 → 101


# ---------------------------------------------------------------- hygiene


@pytest.mark.parametrize("rounding", list(RoundingRule))
@pytest.mark.parametrize(
    "case",
    ["tiny negative quantity", "tiny negative price product", "allowance cancels", "paid in full", "jpy"],
)
def test_negative_zero_never_appears(make_invoice, make_line, case, rounding):
    if case == "tiny negative quantity":
        data = make_invoice(lines=[make_line(1, "-0.001", "1.00"), make_line(2, "1", "0.00")])
    elif case == "tiny negative price product":
        data = make_invoice(lines=[make_line(1, "-1", "0.004"), make_line(2, "-1", "0.004", "S", "7")])
    elif case == "allowance cancels":
        data = make_invoice(
            lines=[make_line(1, "1", "10.00", allowances=[{"amount": "10.00", "reason": "Free"}])],
            allowances=[{"amount": "0.00", "vat_category_code": "S", "vat_rate": "19", "reason": "x"}],
        )
    elif case == "paid in full":
        data = make_invoice(lines=[make_line(1, "-1", "0.01")], totals={"rounding_amount": "0.01"})
    else:
        data = make_invoice(currency_code="JPY", lines=[make_line(1, "-0.4", "1", "S", "10")])
    result = calc(data, rounding)
    values = decimals_in(result.model_dump())
    assert values
    assert not [v for v in values if v.is_zero() and v.is_signed()], result.model_dump()


def test_input_invoice_is_not_mutated(hand_computed, make_line):
    hand_computed["lines"].append(
        make_line(5, "2", "10.00", allowances=[{"percentage": "10", "reason": "x"}])
    )
    hand_computed["allowances"].append(
        {"base_amount": "50.00", "percentage": "10", "vat_category_code": "S", "vat_rate": "7", "reason": "y"}
    )
    invoice = parse_invoice(hand_computed)
    before = invoice.model_dump()
    result = calculate(invoice, RoundingRule.LINE)
    assert invoice.model_dump() == before
    assert invoice.lines[0].net_amount is None
    assert invoice.lines[2].price.net_amount is None
    assert invoice.lines[4].allowances[0].amount is None
    assert invoice.allowances[1].amount is None
    assert invoice.vat_breakdown == []
    assert invoice.totals.amount_due is None
    assert result is not invoice
    assert result.lines[4].allowances[0].amount == D("2.00")


def test_exemption_reasons_given_in_the_breakdown_are_kept(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, "1", "50.00", "E", "0"), make_line(2, "1", "100.00")],
        vat_breakdown=[
            {
                "category_code": "E",
                "rate": "0",
                "exemption_reason": "Exempt under Article 132 of Directive 2006/112/EC",
                "exemption_reason_code": "VATEX-EU-132",
            }
        ],
    )
    result = calc(data)
    by_category = {b.category_code: b for b in result.vat_breakdown}
    assert by_category["E"].exemption_reason == "Exempt under Article 132 of Directive 2006/112/EC"
    assert by_category["E"].exemption_reason_code == "VATEX-EU-132"
    assert by_category["E"].taxable_amount == D("50.00")
    assert by_category["S"].exemption_reason is None
    assert by_category["S"].exemption_reason_code is None


def test_exemption_reason_given_without_the_zero_rate_is_kept(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, "1", "50.00", "K", "0")],
        vat_breakdown=[{"category_code": "K", "exemption_reason_code": "VATEX-EU-IC"}],
    )
    [entry] = calc(data).vat_breakdown
    assert (entry.category_code, entry.rate) == ("K", D("0"))
    assert entry.exemption_reason_code == "VATEX-EU-IC"


def test_supplied_allowance_amount_is_replaced_by_base_times_percentage(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, "1", "100.00", charges=[{"amount": "9.99", "percentage": "10", "reason": "x"}])],
        allowances=[
            {
                "amount": "7.00",
                "base_amount": "100.00",
                "percentage": "5",
                "vat_category_code": "S",
                "vat_rate": "19",
                "reason": "x",
            }
        ],
    )
    result = calc(data)
    assert result.lines[0].charges[0].amount == D("10.00")
    assert result.lines[0].net_amount == D("110.00")
    assert result.allowances[0].amount == D("5.00")
    assert result.totals.tax_exclusive_amount == D("105.00")


# ---------------------------------------------------------------- errors


def test_allowance_with_neither_amount_nor_percentage(make_invoice):
    data = make_invoice(allowances=[{"vat_category_code": "S", "vat_rate": "19", "reason": "Bonus"}])
    [problem] = problems_of(data)
    assert problem.path == "$.allowances[0].amount"
    assert problem.term == "BT-92"


def test_line_charge_with_neither_amount_nor_percentage(make_invoice, make_line):
    data = make_invoice(lines=[make_line(1, charges=[{"reason": "Packing"}])])
    [problem] = problems_of(data)
    assert problem.path == "$.lines[0].charges[0].amount"
    assert problem.term == "BT-141"


def test_document_percentage_without_base_amount(make_invoice):
    data = make_invoice(
        charges=[{"percentage": "5", "vat_category_code": "S", "vat_rate": "19", "reason": "x"}]
    )
    [problem] = problems_of(data)
    assert problem.path == "$.charges[0].base_amount"
    assert problem.term == "BT-100"


def test_standard_rated_line_without_rate(make_invoice, make_line):
    [problem] = problems_of(make_invoice(lines=[make_line(1, rate=None)]))
    assert problem.path == "$.lines[0].vat.rate"
    assert problem.term == "BT-152"
    assert "rate is required" in problem.message


def test_category_o_line_with_rate(make_invoice, make_line):
    [problem] = problems_of(make_invoice(lines=[make_line(1, category="O", rate="0")]))
    assert problem.path == "$.lines[0].vat.rate"
    assert problem.rule == "BR-O-05"
    assert problem.term == "BT-152"


def test_exempt_line_with_rate_7(make_invoice, make_line):
    [problem] = problems_of(make_invoice(lines=[make_line(1, category="E", rate="7")]))
    assert problem.path == "$.lines[0].vat.rate"
    assert problem.rule == "BR-E-05"
    assert "7" in problem.message


def test_document_allowance_rate_checked_too(make_invoice):
    data = make_invoice(
        allowances=[{"amount": "1.00", "vat_category_code": "Z", "vat_rate": "19", "reason": "x"}]
    )
    [problem] = problems_of(data)
    assert problem.path == "$.allowances[0].vat_rate"
    assert problem.rule == "BR-Z-05"
    assert problem.term == "BT-96"


def test_every_problem_is_reported_at_once(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, rate=None), make_line(2, category="E", rate="7")],
        allowances=[{"vat_category_code": "S", "vat_rate": "19", "reason": "x"}],
    )
    paths = [p.path for p in problems_of(data)]
    assert paths == ["$.lines[0].vat.rate", "$.lines[1].vat.rate", "$.allowances[0].amount"]


def test_intra_community_line_with_rate_names_br_ic_05(make_invoice, make_line):
    [problem] = problems_of(make_invoice(lines=[make_line(1, category="K", rate="7")]))
    assert problem.rule == "BR-IC-05"
    assert problem.message.startswith("BR-IC-05")


@pytest.mark.parametrize(("category", "rule"), [("Z", "BR-Z-05"), ("AE", "BR-AE-05"), ("G", "BR-G-05")])
def test_zero_rate_categories_name_their_rule(make_invoice, make_line, category, rule):
    [problem] = problems_of(make_invoice(lines=[make_line(1, category=category, rate="0.5")]))
    assert problem.rule == rule


def test_a_summary_keeps_its_stated_totals_and_fills_only_what_follows(make_invoice):
    # a Factur-X MINIMUM states BT-109, BT-110, BT-112 and BT-115 and has no lines
    data = make_invoice(lines=[])
    data["totals"] = {
        "tax_exclusive_amount": "100.00",
        "vat_total": "19.00",
        "tax_inclusive_amount": "119.00",
    }
    data["vat_breakdown"] = [
        {"category_code": "S", "rate": "19", "taxable_amount": "100.00", "tax_amount": "19.00"}
    ]
    result = calc(data)
    assert result.lines == []
    assert result.totals.line_net_total is None  # nothing to sum: not invented
    assert result.totals.amount_due == Decimal("119.00")  # BR-CO-16 from the stated totals
    assert result.totals.tax_exclusive_amount == Decimal("100.00")
    assert [(b.taxable_amount, b.tax_amount) for b in result.vat_breakdown] == [
        (Decimal("100.00"), Decimal("19.00"))
    ]


def test_a_summary_with_line_total_derives_the_rest(make_invoice):
    data = make_invoice(lines=[])
    data["totals"] = {"line_net_total": "200.00", "paid_amount": "50.00"}
    data["allowances"] = [
        {"amount": "20.00", "vat_category_code": "S", "vat_rate": "20", "reason": "Discount"}
    ]
    data["vat_breakdown"] = [
        {"category_code": "S", "rate": "20", "taxable_amount": "180.00", "tax_amount": "36.00"}
    ]
    totals = calc(data).totals
    assert totals.allowance_total == Decimal("20.00")
    assert totals.tax_exclusive_amount == Decimal("180.00")
    assert totals.vat_total == Decimal("36.00")
    assert totals.tax_inclusive_amount == Decimal("216.00")
    assert totals.amount_due == Decimal("166.00")
