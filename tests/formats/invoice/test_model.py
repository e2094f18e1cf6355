"""The canonical model's single-field checks, as check_invoice reports them."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from formats.invoice import Problem, Severity, check_invoice, parse_invoice


def problems(data: dict[str, Any] | bytes) -> list[Problem]:
    result = check_invoice(data)
    assert not result.ok
    return result.problems


def only(data: dict[str, Any] | bytes) -> Problem:
    [problem] = problems(data)
    assert problem.severity is Severity.ERROR
    return problem


def test_the_minimal_invoice_is_clean(minimal_invoice):
    result = check_invoice(minimal_invoice)
    assert result.ok
    assert result.problems == []


def test_the_minimal_invoice_as_json_bytes_is_clean(minimal_invoice):
    assert check_invoice(json.dumps(minimal_invoice).encode()).problems == []


# ---------------------------------------------------------------- code lists


def test_unknown_currency(minimal_invoice):
    minimal_invoice["currency_code"] = "EUX"
    problem = only(minimal_invoice)
    assert problem.path == "$.currency_code"
    assert problem.term == "BT-5"
    assert problem.rule == "BR-CL-04"
    assert "'EUX'" in problem.message
    assert "ISO 4217" in problem.message


def test_lower_case_currency_refused(minimal_invoice):
    minimal_invoice["currency_code"] = "eur"
    assert only(minimal_invoice).path == "$.currency_code"


def test_unknown_tax_currency(minimal_invoice):
    minimal_invoice["tax_currency_code"] = "XYZ"
    problem = only(minimal_invoice)
    assert (problem.path, problem.term, problem.rule) == ("$.tax_currency_code", "BT-6", "BR-CL-04")


def test_unknown_unit_code(minimal_invoice):
    minimal_invoice["lines"][0]["unit_code"] = "ZZZ"
    problem = only(minimal_invoice)
    assert problem.path == "$.lines[0].unit_code"
    assert problem.term == "BT-130"
    assert problem.rule == "BR-CL-23"
    assert "'ZZZ'" in problem.message


@pytest.mark.parametrize(
    ("where", "path", "term"),
    [
        ("seller", "$.seller.address.country_code", "BT-40"),
        ("buyer", "$.buyer.address.country_code", "BT-55"),
    ],
)
def test_unknown_country(minimal_invoice, where, path, term):
    minimal_invoice[where]["address"]["country_code"] = "ZZ"
    problem = only(minimal_invoice)
    assert (problem.path, problem.term, problem.rule) == (path, term, "BR-CL-14")


def test_unknown_country_of_origin(minimal_invoice):
    minimal_invoice["lines"][0]["item"]["origin_country"] = "QQ"
    problem = only(minimal_invoice)
    assert (problem.path, problem.term, problem.rule) == (
        "$.lines[0].item.origin_country",
        "BT-159",
        "BR-CL-14",
    )


def test_unknown_vatex_code(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, category="E", rate="0")],
        vat_breakdown=[{"category_code": "E", "rate": "0", "exemption_reason_code": "VATEX-EU-NOPE"}],
    )
    problem = only(data)
    assert problem.path == "$.vat_breakdown[0].exemption_reason_code"
    assert problem.term == "BT-121"
    assert problem.rule == "BR-CL-22"


def test_known_vatex_code_accepted(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, category="E", rate="0")],
        vat_breakdown=[{"category_code": "E", "rate": "0", "exemption_reason_code": "VATEX-EU-132"}],
    )
    assert check_invoice(data).problems == []


def test_unknown_vat_category(minimal_invoice):
    minimal_invoice["lines"][0]["vat"]["category_code"] = "X"
    problem = only(minimal_invoice)
    assert (problem.path, problem.term, problem.rule) == (
        "$.lines[0].vat.category_code",
        "BT-151",
        "BR-CL-17",
    )


def test_unknown_invoice_type(minimal_invoice):
    minimal_invoice["type_code"] = "999"
    problem = only(minimal_invoice)
    assert (problem.path, problem.term, problem.rule) == ("$.type_code", "BT-3", "BR-CL-01")


# ---------------------------------------------------------------- numbers


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
    target[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value", "expected_path"),
    [
        (("lines", 0, "quantity"), 1.5, "$.lines[0].quantity"),
        (("lines", 0, "price", "net_amount"), 0.1, "$.lines[0].price.net_amount"),
        (("totals", "paid_amount"), 10.0, "$.totals.paid_amount"),
    ],
)
def test_floats_refused_with_a_clear_message(minimal_invoice, path, value, expected_path):
    _set(minimal_invoice, path, value)
    problem = only(minimal_invoice)
    assert problem.path == expected_path
    assert "float" in problem.message
    assert '"12.50"' in problem.message  # says what to give instead


def test_booleans_refused_as_numbers(minimal_invoice):
    minimal_invoice["lines"][0]["quantity"] = True
    problem = only(minimal_invoice)
    assert problem.path == "$.lines[0].quantity"
    assert "boolean" in problem.message


def test_json_numbers_are_exact_not_floats(minimal_invoice):
    minimal_invoice["lines"][0]["price"]["net_amount"] = "__PRICE__"
    raw = json.dumps(minimal_invoice).replace('"__PRICE__"', "0.1").encode()
    result = check_invoice(raw)
    assert result.problems == []
    assert result.invoice is not None
    assert result.invoice.lines[0].price.net_amount == Decimal("0.1")


@pytest.mark.parametrize(
    ("path", "term"),
    [
        (("totals", "paid_amount"), "BT-113"),
        (("totals", "rounding_amount"), "BT-114"),
        (("lines", 0, "net_amount"), "BT-131"),
    ],
)
def test_amounts_with_three_decimals_refused(minimal_invoice, path, term):
    _set(minimal_invoice, path, "1.234")
    problem = only(minimal_invoice)
    assert problem.term == term
    assert problem.rule == "BR-DEC"
    assert "1.234" in problem.message


def test_allowance_amount_with_three_decimals_refused(minimal_invoice):
    minimal_invoice["allowances"] = [
        {"amount": "0.001", "vat_category_code": "S", "vat_rate": "19", "reason": "x"}
    ]
    problem = only(minimal_invoice)
    assert (problem.path, problem.term, problem.rule) == ("$.allowances[0].amount", "BT-92", "BR-DEC")


def test_trailing_zeros_are_not_extra_decimals(minimal_invoice):
    minimal_invoice["totals"] = {"paid_amount": "19.000"}
    result = check_invoice(minimal_invoice)
    assert result.problems == []
    assert result.calculated is not None
    assert result.calculated.totals.amount_due == Decimal("100.00")


def test_unit_prices_may_have_more_decimals(minimal_invoice):
    minimal_invoice["lines"][0]["price"]["net_amount"] = "0.12345"
    minimal_invoice["lines"][0]["quantity"] = "1000"
    result = check_invoice(minimal_invoice)
    assert result.problems == []
    assert result.calculated is not None
    assert result.calculated.lines[0].net_amount == Decimal("123.45")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_refused(minimal_invoice, value):
    minimal_invoice["lines"][0]["quantity"] = value
    assert only(minimal_invoice).path == "$.lines[0].quantity"


@pytest.mark.parametrize(
    ("field", "term"),
    [("net_amount", "BT-146"), ("gross_amount", "BT-148"), ("discount", "BT-147")],
)
def test_negative_prices_refused(minimal_invoice, field, term):
    price = minimal_invoice["lines"][0]["price"]
    price["gross_amount"] = "100.00"
    price[field] = "-1.00"
    problem = only(minimal_invoice)
    assert problem.path == f"$.lines[0].price.{field}"
    assert problem.term == term
    assert "greater than or equal to 0" in problem.message


def test_negative_quantity_is_allowed(minimal_invoice):
    minimal_invoice["lines"][0]["quantity"] = "-1"
    minimal_invoice["type_code"] = "381"
    assert check_invoice(minimal_invoice).problems == []


@pytest.mark.parametrize("value", ["0", "-1", "0.000"])
def test_base_quantity_must_be_positive(minimal_invoice, value):
    minimal_invoice["lines"][0]["price"]["base_quantity"] = value
    problem = only(minimal_invoice)
    assert problem.path == "$.lines[0].price.base_quantity"
    assert problem.term == "BT-149"


@pytest.mark.parametrize("value", ["-1", "100.01"])
def test_percentages_between_0_and_100(minimal_invoice, value):
    minimal_invoice["lines"][0]["allowances"] = [{"percentage": value, "reason": "x"}]
    problem = only(minimal_invoice)
    assert problem.path == "$.lines[0].allowances[0].percentage"
    assert problem.term == "BT-138"


# ---------------------------------------------------------------- structure


def test_unknown_field_refused_with_its_path(minimal_invoice):
    minimal_invoice["lines"][0]["colour"] = "red"
    problem = only(minimal_invoice)
    assert problem.path == "$.lines[0].colour"
    assert "unknown field" in problem.message


def test_misspelt_top_level_field(minimal_invoice):
    minimal_invoice["numbr"] = minimal_invoice.pop("number")
    paths = {p.path for p in problems(minimal_invoice)}
    assert paths == {"$.numbr", "$.number"}


@pytest.mark.parametrize(
    ("path", "expected_path", "term"),
    [
        (("number",), "$.number", "BT-1"),
        (("issue_date",), "$.issue_date", "BT-2"),
        (("currency_code",), "$.currency_code", "BT-5"),
        (("seller", "name"), "$.seller.name", "BT-27"),
        (("seller", "address", "country_code"), "$.seller.address.country_code", "BT-40"),
        (("buyer", "name"), "$.buyer.name", "BT-44"),
        (("lines", 0, "item", "name"), "$.lines[0].item.name", "BT-153"),
        (("lines", 0, "unit_code"), "$.lines[0].unit_code", "BT-130"),
        (("lines", 0, "quantity"), "$.lines[0].quantity", "BT-129"),
    ],
)
def test_missing_mandatory_term(minimal_invoice, path, expected_path, term):
    target = minimal_invoice
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    problem = only(minimal_invoice)
    assert problem.path == expected_path
    assert problem.term == term
    assert f"({term}) is required" in problem.message


def test_every_missing_term_is_reported_at_once(minimal_invoice):
    del minimal_invoice["number"]
    del minimal_invoice["seller"]["name"]
    del minimal_invoice["seller"]["address"]["country_code"]
    del minimal_invoice["lines"][0]["item"]["name"]
    assert [(p.path, p.term) for p in problems(minimal_invoice)] == [
        ("$.lines[0].item.name", "BT-153"),
        ("$.number", "BT-1"),
        ("$.seller.address.country_code", "BT-40"),
        ("$.seller.name", "BT-27"),
    ]


def test_missing_lines_name_bg_25(minimal_invoice):
    del minimal_invoice["lines"]
    problem = only(minimal_invoice)
    assert problem.path == "$.lines"
    assert problem.term == "BG-25"


def test_empty_lines_are_a_summary_for_the_model(minimal_invoice):
    # a Factur-X MINIMUM / BASIC WL document carries no lines; the model holds it, and the
    # business rules (BR-16) say it is not an EN 16931 invoice: see test_rules.py
    minimal_invoice["lines"] = []
    invoice = parse_invoice(minimal_invoice)
    assert invoice.is_summary


def test_blank_text_refused(minimal_invoice):
    minimal_invoice["seller"]["name"] = "   "
    problem = only(minimal_invoice)
    assert (problem.path, problem.term) == ("$.seller.name", "BT-27")


def test_invalid_date(minimal_invoice):
    minimal_invoice["issue_date"] = "2026-02-30"
    problem = only(minimal_invoice)
    assert (problem.path, problem.term) == ("$.issue_date", "BT-2")


# ---------------------------------------------------------------- periods


def test_invoicing_period_end_before_start(minimal_invoice):
    minimal_invoice["invoicing_period"] = {"start_date": "2026-02-01", "end_date": "2026-01-31"}
    problem = only(minimal_invoice)
    assert problem.path == "$.invoicing_period"
    assert problem.term == "BG-14"
    assert problem.rule == "BR-29"
    assert "2026-01-31" in problem.message
    assert "2026-02-01" in problem.message


def test_period_of_one_day_is_fine(minimal_invoice):
    minimal_invoice["invoicing_period"] = {"start_date": "2026-01-01", "end_date": "2026-01-01"}
    assert check_invoice(minimal_invoice).problems == []


def test_line_period_end_before_start(minimal_invoice):
    minimal_invoice["lines"][0]["period"] = {"start_date": "2026-02-01", "end_date": "2026-01-31"}
    problem = only(minimal_invoice)
    assert problem.path == "$.lines[0].period"
    assert problem.term == "BG-26"


def test_line_period_end_before_start_names_br_30(minimal_invoice):
    minimal_invoice["lines"][0]["period"] = {"start_date": "2026-02-01", "end_date": "2026-01-31"}
    assert only(minimal_invoice).rule == "BR-30"


def test_empty_period_refused(minimal_invoice):
    minimal_invoice["invoicing_period"] = {}
    problem = only(minimal_invoice)
    assert problem.path == "$.invoicing_period"
    assert problem.rule == "BR-CO-19"


# ---------------------------------------------------------------- payment card, attachments


@pytest.mark.parametrize("number", ["4111111111111111", "4111 1111 1111 1111", "1234567"])
def test_unmasked_card_number_refused(minimal_invoice, number):
    minimal_invoice["payment_instructions"] = {
        "means_code": "48",
        "payment_card": {"primary_account_number": number},
    }
    problem = only(minimal_invoice)
    assert problem.path == "$.payment_instructions.payment_card"
    assert "BT-87" in problem.message
    assert "last 4 to 6 digits" in problem.message


@pytest.mark.parametrize("number", ["1234", "**** **** **** 1234", "XXXXXXXXXX123456"])
def test_masked_card_number_accepted(minimal_invoice, number):
    minimal_invoice["payment_instructions"] = {
        "means_code": "48",
        "payment_card": {"primary_account_number": number, "holder_name": "A. Buyer"},
    }
    assert check_invoice(minimal_invoice).problems == []


def test_base64_attachment_round_trip(minimal_invoice):
    raw = b"%PDF-1.7\n\x00\xff binary timesheet \xe2\x82\xac\n%%EOF"
    encoded = base64.b64encode(raw).decode("ascii")
    minimal_invoice["supporting_documents"] = [
        {
            "reference": "TS-1",
            "attachment": {"content": encoded, "mime_code": "application/pdf", "filename": "ts.pdf"},
        }
    ]
    invoice = parse_invoice(minimal_invoice)
    attachment = invoice.supporting_documents[0].attachment
    assert attachment is not None
    assert attachment.content == raw
    dumped = invoice.model_dump(mode="json")
    assert dumped["supporting_documents"][0]["attachment"]["content"] == encoded
    assert parse_invoice(dumped) == invoice
    assert parse_invoice(json.loads(invoice.model_dump_json())) == invoice


def test_invalid_base64_refused(minimal_invoice):
    minimal_invoice["supporting_documents"] = [
        {
            "reference": "TS-1",
            "attachment": {"content": "not base64!", "mime_code": "application/pdf", "filename": "a.pdf"},
        }
    ]
    problem = only(minimal_invoice)
    assert problem.path == "$.supporting_documents[0].attachment.content"
    assert problem.term == "BT-125"
    assert "base64" in problem.message


def test_unknown_attachment_mime_code(minimal_invoice):
    minimal_invoice["supporting_documents"] = [
        {"reference": "X", "attachment": {"content": "", "mime_code": "application/zip", "filename": "a.zip"}}
    ]
    problem = only(minimal_invoice)
    assert (problem.term, problem.rule) == ("BT-125-1", "BR-CL-24")


@pytest.mark.parametrize(("type_code", "credit_note"), [("380", False), ("381", True), ("384", False)])
def test_credit_note_type_codes(make_invoice, type_code, credit_note):
    assert parse_invoice(make_invoice(type_code=type_code)).is_credit_note is credit_note


# ---------------------------------------------------------------- problems as data


def test_check_invoice_accepts_an_invoice_object(minimal_invoice):
    result = check_invoice(parse_invoice(minimal_invoice))
    assert result.ok
    assert result.calculated is not None
    assert result.calculated.totals.amount_due == Decimal("119.00")


def test_problem_as_text_and_dict(minimal_invoice):
    minimal_invoice["currency_code"] = "EUX"
    problem = only(minimal_invoice)
    assert str(problem) == (
        "$.currency_code: BR-CL-04: 'EUX' is not a valid ISO 4217 alpha-3 currency code [BT-5, BR-CL-04]"
    )
    assert problem.as_dict() == {
        "path": "$.currency_code",
        "message": "BR-CL-04: 'EUX' is not a valid ISO 4217 alpha-3 currency code",
        "term": "BT-5",
        "rule": "BR-CL-04",
        "severity": "error",
    }


def test_errors_come_before_warnings(minimal_invoice):
    minimal_invoice["due_date"] = "2026-01-01"  # warning: before the issue date
    minimal_invoice["tax_point_date"] = "2026-01-10"
    minimal_invoice["tax_point_date_code"] = "3"  # error: BR-CO-3
    severities = [p.severity for p in check_invoice(minimal_invoice).problems]
    assert severities == [Severity.ERROR, Severity.WARNING]


def test_problems_are_listed_in_document_order(minimal_invoice):
    line = minimal_invoice["lines"][0]
    minimal_invoice["lines"] = [{**line, "id": str(i)} for i in range(12)]
    minimal_invoice["lines"][2]["unit_code"] = "ZZZ"
    minimal_invoice["lines"][10]["unit_code"] = "ZZZ"
    paths = [p.path for p in problems(minimal_invoice)]
    assert paths == ["$.lines[2].unit_code", "$.lines[10].unit_code"]
