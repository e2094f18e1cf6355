"""Cross-field EN 16931 rules (rules.py): one failing and one passing case each."""

from __future__ import annotations

from typing import Any

import pytest

from formats.invoice import Problem, Severity, check_invoice, check_rules, parse_invoice
from formats.invoice.calculate import calculate


def problems(data: dict[str, Any]) -> list[Problem]:
    result = check_invoice(data)
    assert result.calculated is not None, result.problems  # the rules ran
    return result.problems


def with_rule(data: dict[str, Any], rule: str) -> list[Problem]:
    return [p for p in problems(data) if p.rule == rule]


def one(data: dict[str, Any], rule: str) -> Problem:
    [problem] = with_rule(data, rule)
    assert problem.severity is Severity.ERROR
    assert problem.message.startswith(f"{rule}: ")
    return problem


def test_check_rules_runs_on_a_calculated_invoice(minimal_invoice):
    assert check_rules(calculate(parse_invoice(minimal_invoice))) == []


# ---------------------------------------------------------------- seller identity


def test_br_co_26_seller_without_any_identifier(minimal_invoice):
    del minimal_invoice["seller"]["vat_identifier"]
    problem = one(minimal_invoice, "BR-CO-26")
    assert problem.path == "$.seller"
    assert problem.term == "BG-4"


@pytest.mark.parametrize(
    "identifier",
    [
        {"identifiers": [{"value": "4000001000005", "scheme": "0088"}]},
        {"legal_registration": {"value": "HRB 123456"}},
        {"vat_identifier": "DE123456789"},
    ],
    ids=["BT-29", "BT-30", "BT-31"],
)
def test_br_co_26_any_seller_identifier_will_do(minimal_invoice, identifier):
    del minimal_invoice["seller"]["vat_identifier"]
    minimal_invoice["seller"].update(identifier)
    assert with_rule(minimal_invoice, "BR-CO-26") == []


@pytest.mark.parametrize(
    ("party", "path", "term"),
    [
        ("seller", "$.seller.vat_identifier", "BT-31"),
        ("buyer", "$.buyer.vat_identifier", "BT-48"),
        ("tax_representative", "$.tax_representative.vat_identifier", "BT-63"),
    ],
)
def test_br_co_09_vat_identifier_without_country_prefix(minimal_invoice, party, path, term):
    if party == "tax_representative":
        minimal_invoice["tax_representative"] = {
            "name": "Rep",
            "vat_identifier": "DE111111111",
            "address": {"country_code": "DE"},
        }
    minimal_invoice[party]["vat_identifier"] = "123456789"
    problem = one(minimal_invoice, "BR-CO-09")
    assert problem.path == path
    assert problem.term == term
    assert "'123456789'" in problem.message


@pytest.mark.parametrize(
    "vat_id", ["DE123456789", "EL123456789", "GR123456789", "XI123456789", "ATU12345678"]
)
def test_br_co_09_iso_prefixes_and_el_accepted(minimal_invoice, vat_id):
    minimal_invoice["seller"]["vat_identifier"] = vat_id
    assert with_rule(minimal_invoice, "BR-CO-09") == []


def test_br_co_09_lower_case_prefix_refused(minimal_invoice):
    minimal_invoice["buyer"]["vat_identifier"] = "de123456789"
    assert one(minimal_invoice, "BR-CO-09").path == "$.buyer.vat_identifier"


def test_duplicate_line_ids(minimal_invoice, make_line):
    minimal_invoice["lines"] = [make_line(1), make_line(2), make_line(1)]
    [problem] = problems(minimal_invoice)
    assert problem.path == "$.lines[2].id"
    assert problem.term == "BT-126"
    assert "lines[0]" in problem.message


def test_unique_line_ids(minimal_invoice, make_line):
    minimal_invoice["lines"] = [make_line(1), make_line(2), make_line(10)]
    assert problems(minimal_invoice) == []


# ---------------------------------------------------------------- VAT categories


def test_br_s_02_standard_rated_needs_seller_vat_identifier(minimal_invoice):
    del minimal_invoice["seller"]["vat_identifier"]
    minimal_invoice["seller"]["legal_registration"] = {"value": "HRB 1"}
    problem = one(minimal_invoice, "BR-S-02")
    assert problem.path == "$.lines[0].vat.category_code"
    assert problem.term == "BT-151"


def test_br_s_02_tax_representative_vat_identifier_will_do(minimal_invoice):
    del minimal_invoice["seller"]["vat_identifier"]
    minimal_invoice["seller"]["legal_registration"] = {"value": "HRB 1"}
    minimal_invoice["tax_representative"] = {
        "name": "Rep",
        "vat_identifier": "DE111111111",
        "address": {"country_code": "DE"},
    }
    assert problems(minimal_invoice) == []


@pytest.mark.parametrize("category", ["S", "Z", "E", "AE"])
def test_br_x_02_seller_tax_registration_identifier_will_do(make_invoice, make_line, category):
    data = make_invoice(lines=[make_line(1, category=category, rate="19" if category == "S" else "0")])
    if category in {"E", "AE"}:
        data["vat_breakdown"] = [{"category_code": category, "rate": "0", "exemption_reason": "x"}]
    if category == "AE":
        data["buyer"]["vat_identifier"] = "FR12345678901"
    del data["seller"]["vat_identifier"]
    data["seller"]["legal_registration"] = {"value": "HRB 1"}
    data["seller"]["tax_registration_identifier"] = "143/123/45678"
    assert problems(data) == []


def test_br_s_05_standard_rate_must_be_positive(minimal_invoice):
    minimal_invoice["lines"][0]["vat"]["rate"] = "0"
    problem = one(minimal_invoice, "BR-S-05")
    assert problem.path == "$.lines[0].vat.rate"


@pytest.mark.parametrize(("kind", "rule"), [("allowances", "BR-S-06"), ("charges", "BR-S-07")])
def test_br_s_06_07_standard_rated_document_allowance_or_charge_rate(minimal_invoice, kind, rule):
    minimal_invoice[kind] = [{"amount": "1.00", "vat_category_code": "S", "vat_rate": "0", "reason": "x"}]
    problem = one(minimal_invoice, rule)
    assert problem.path == f"$.{kind}[0].vat_rate"
    minimal_invoice[kind][0]["vat_rate"] = "19"
    assert problems(minimal_invoice) == []


@pytest.fixture
def reverse_charge(make_invoice, make_line):
    return make_invoice(
        lines=[make_line(1, category="AE", rate="0")],
        vat_breakdown=[{"category_code": "AE", "rate": "0", "exemption_reason_code": "VATEX-EU-AE"}],
    )


def test_br_ae_02_reverse_charge_needs_buyer_identifier(reverse_charge):
    problem = one(reverse_charge, "BR-AE-02")
    assert problem.path == "$.buyer.vat_identifier"
    assert problem.term == "BT-48"


@pytest.mark.parametrize(
    "buyer_id",
    [{"vat_identifier": "FR12345678901"}, {"legal_registration": {"value": "RCS 123"}}],
    ids=["BT-48", "BT-47"],
)
def test_br_ae_02_buyer_vat_or_legal_registration_will_do(reverse_charge, buyer_id):
    reverse_charge["buyer"].update(buyer_id)
    assert problems(reverse_charge) == []


@pytest.fixture
def intra_community(make_invoice, make_line):
    return make_invoice(
        lines=[make_line(1, category="K", rate="0")],
        vat_breakdown=[{"category_code": "K", "rate": "0", "exemption_reason_code": "VATEX-EU-IC"}],
    )


def test_br_ic_02_11_12_intra_community_supply_requirements(intra_community):
    found = {p.rule: p for p in problems(intra_community)}
    assert set(found) == {"BR-IC-02", "BR-IC-11", "BR-IC-12"}
    assert (found["BR-IC-02"].path, found["BR-IC-02"].term) == ("$.buyer.vat_identifier", "BT-48")
    assert (found["BR-IC-11"].path, found["BR-IC-11"].term) == ("$.delivery.actual_delivery_date", "BT-72")
    assert (found["BR-IC-12"].path, found["BR-IC-12"].term) == ("$.delivery.address.country_code", "BT-80")


@pytest.mark.parametrize("when", ["delivery date", "invoicing period"])
def test_br_ic_02_11_12_satisfied(intra_community, when):
    intra_community["buyer"]["vat_identifier"] = "FR12345678901"
    intra_community["delivery"] = {"address": {"country_code": "FR"}}
    if when == "delivery date":
        intra_community["delivery"]["actual_delivery_date"] = "2026-01-10"
    else:
        intra_community["invoicing_period"] = {"start_date": "2026-01-01", "end_date": "2026-01-31"}
    assert problems(intra_community) == []


@pytest.fixture
def not_subject(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, category="O", rate=None)],
        vat_breakdown=[{"category_code": "O", "exemption_reason": "Not subject to VAT"}],
    )
    del data["seller"]["vat_identifier"]
    data["seller"]["legal_registration"] = {"value": "HRB 1"}
    return data


def test_not_subject_to_vat_clean(not_subject):
    assert problems(not_subject) == []


@pytest.mark.parametrize(
    ("party", "extra"),
    [
        ("seller", {"vat_identifier": "DE123456789"}),
        ("buyer", {"vat_identifier": "DE987654321"}),
        ("tax_representative", None),
    ],
)
def test_br_o_02_no_vat_identifiers_with_category_o(not_subject, party, extra):
    if extra is None:
        not_subject["tax_representative"] = {
            "name": "Rep",
            "vat_identifier": "DE111111111",
            "address": {"country_code": "DE"},
        }
    else:
        not_subject[party].update(extra)
    problem = one(not_subject, "BR-O-02")
    assert problem.path == "$.lines[0].vat.category_code"


def test_br_o_11_category_o_not_mixed(not_subject, make_line):
    not_subject["lines"].append(make_line(2, category="Z", rate="0"))
    problem = one(not_subject, "BR-O-11")
    assert "Z" in problem.message


def test_br_o_11_mixed_through_a_document_charge(not_subject):
    not_subject["charges"] = [{"amount": "5.00", "vat_category_code": "Z", "vat_rate": "0", "reason": "x"}]
    assert one(not_subject, "BR-O-11").path == "$.lines[0].vat.category_code"


def test_br_e_10_exempt_needs_a_reason(make_invoice, make_line):
    data = make_invoice(lines=[make_line(1, category="E", rate="0")])
    problem = one(data, "BR-E-10")
    assert problem.path == "$.vat_breakdown[0].exemption_reason"
    assert problem.term == "BT-120"


@pytest.mark.parametrize(
    "reason",
    [{"exemption_reason": "Exempt, Art. 132"}, {"exemption_reason_code": "VATEX-EU-132"}],
    ids=["BT-120", "BT-121"],
)
def test_br_e_10_reason_text_or_code(make_invoice, make_line, reason):
    data = make_invoice(
        lines=[make_line(1, category="E", rate="0")],
        vat_breakdown=[{"category_code": "E", "rate": "0", **reason}],
    )
    assert problems(data) == []


@pytest.mark.parametrize(("category", "rule"), [("G", "BR-G-10"), ("K", "BR-IC-10"), ("AE", "BR-AE-10")])
def test_other_categories_needing_a_reason(make_invoice, make_line, category, rule):
    data = make_invoice(lines=[make_line(1, category=category, rate="0")])
    assert with_rule(data, rule)


def test_br_s_10_no_exemption_reason_for_standard_rate(minimal_invoice):
    minimal_invoice["vat_breakdown"] = [{"category_code": "S", "rate": "19", "exemption_reason": "why"}]
    problem = one(minimal_invoice, "BR-S-10")
    assert problem.path == "$.vat_breakdown[0].exemption_reason"


def test_br_s_10_standard_rate_without_reason(minimal_invoice):
    minimal_invoice["vat_breakdown"] = [{"category_code": "S", "rate": "19"}]
    assert problems(minimal_invoice) == []


def test_br_z_10_no_exemption_reason_for_zero_rate(make_invoice, make_line):
    data = make_invoice(
        lines=[make_line(1, category="Z", rate="0")],
        vat_breakdown=[{"category_code": "Z", "rate": "0", "exemption_reason_code": "VATEX-EU-132"}],
    )
    assert one(data, "BR-Z-10")


# ---------------------------------------------------------------- payment


def test_br_co_25_positive_amount_due_needs_due_date_or_terms(minimal_invoice):
    del minimal_invoice["due_date"]
    problem = one(minimal_invoice, "BR-CO-25")
    assert problem.path == "$.due_date"
    assert problem.term == "BT-9"
    assert "119.00" in problem.message


@pytest.mark.parametrize(
    "change",
    [
        {"payment_terms": "30 days net"},
        {"due_date": "2026-02-14"},
        {"totals": {"paid_amount": "119.00"}},
    ],
    ids=["terms", "due date", "nothing due"],
)
def test_br_co_25_satisfied(minimal_invoice, change):
    del minimal_invoice["due_date"]
    minimal_invoice.update(change)
    assert problems(minimal_invoice) == []


def test_br_co_25_not_for_credit_notes_with_negative_amount(minimal_invoice):
    del minimal_invoice["due_date"]
    minimal_invoice["type_code"] = "381"
    minimal_invoice["lines"][0]["quantity"] = "-1"
    assert problems(minimal_invoice) == []


def test_due_date_before_issue_date_warns(minimal_invoice):
    minimal_invoice["due_date"] = "2026-01-01"
    result = check_invoice(minimal_invoice)
    assert result.ok
    [warning] = result.problems
    assert warning.severity is Severity.WARNING
    assert warning.path == "$.due_date"


@pytest.mark.parametrize("means", ["30", "58"])
def test_br_61_credit_transfer_needs_account(minimal_invoice, means):
    minimal_invoice["payment_instructions"] = {"means_code": means}
    problem = one(minimal_invoice, "BR-61")
    assert problem.path == "$.payment_instructions.credit_transfers"


def test_br_61_satisfied(minimal_invoice):
    minimal_invoice["payment_instructions"] = {
        "means_code": "58",
        "credit_transfers": [{"account_identifier": "DE02120300000000202051"}],
    }
    assert problems(minimal_invoice) == []


def test_br_61_not_for_other_means(minimal_invoice):
    minimal_invoice["payment_instructions"] = {"means_code": "10"}
    assert problems(minimal_invoice) == []


@pytest.mark.parametrize("means", ["49", "59"])
def test_direct_debit_needs_mandate_reference(minimal_invoice, means):
    minimal_invoice["payment_instructions"] = {"means_code": means}
    problem = next(p for p in problems(minimal_invoice) if "mandate" in p.message)
    assert problem.path == "$.payment_instructions.direct_debit.mandate_reference"
    assert problem.term == "BT-89"
    assert problem.severity is Severity.ERROR


def test_direct_debit_needs_creditor_identifier(minimal_invoice):
    minimal_invoice["payment_instructions"] = {
        "means_code": "59",
        "direct_debit": {"mandate_reference": "M-1"},
    }
    [problem] = problems(minimal_invoice)
    assert problem.path == "$.payment_instructions.direct_debit.creditor_identifier"
    assert problem.term == "BT-90"


def test_direct_debit_complete(minimal_invoice):
    minimal_invoice["payment_instructions"] = {
        "means_code": "59",
        "direct_debit": {
            "mandate_reference": "M-1",
            "creditor_identifier": "DE98ZZZ09999999999",
            "debited_account_identifier": "DE02120300000000202051",
        },
    }
    assert problems(minimal_invoice) == []


# ---------------------------------------------------------------- allowances and charges


@pytest.mark.parametrize(
    ("where", "rule", "path", "term"),
    [
        ("allowances", "BR-33", "$.allowances[0].reason", "BT-97"),
        ("charges", "BR-38", "$.charges[0].reason", "BT-104"),
        ("line allowances", "BR-42", "$.lines[0].allowances[0].reason", "BT-139"),
        ("line charges", "BR-44", "$.lines[0].charges[0].reason", "BT-144"),
    ],
)
def test_allowance_or_charge_without_reason(minimal_invoice, where, rule, path, term):
    if where.startswith("line"):
        minimal_invoice["lines"][0][where.split()[1]] = [{"amount": "1.00"}]
    else:
        minimal_invoice[where] = [{"amount": "1.00", "vat_category_code": "S", "vat_rate": "19"}]
    problem = one(minimal_invoice, rule)
    assert problem.path == path
    assert problem.term == term


@pytest.mark.parametrize(
    "reason", [{"reason": "Volume discount"}, {"reason_code": "95"}], ids=["text", "code"]
)
def test_br_33_allowance_with_reason_text_or_code(minimal_invoice, reason):
    minimal_invoice["allowances"] = [{"amount": "1.00", "vat_category_code": "S", "vat_rate": "19", **reason}]
    assert problems(minimal_invoice) == []


# ---------------------------------------------------------------- references


def test_br_co_3_tax_point_date_and_code_exclusive(minimal_invoice):
    minimal_invoice["tax_point_date"] = "2026-01-10"
    minimal_invoice["tax_point_date_code"] = "3"
    problem = one(minimal_invoice, "BR-CO-3")
    assert problem.path == "$.tax_point_date_code"
    assert problem.term == "BT-8"


@pytest.mark.parametrize("given", [{"tax_point_date": "2026-01-10"}, {"tax_point_date_code": "35"}])
def test_br_co_3_one_of_them(minimal_invoice, given):
    minimal_invoice.update(given)
    assert problems(minimal_invoice) == []


def test_br_53_tax_currency_needs_vat_total_in_it(minimal_invoice):
    minimal_invoice["tax_currency_code"] = "SEK"
    problem = one(minimal_invoice, "BR-53")
    assert problem.path == "$.totals.vat_total_in_tax_currency"
    assert problem.term == "BT-111"


def test_br_53_satisfied(minimal_invoice):
    minimal_invoice["tax_currency_code"] = "SEK"
    minimal_invoice["totals"] = {"vat_total_in_tax_currency": "215.27"}
    result = check_invoice(minimal_invoice)
    assert result.problems == []
    assert result.calculated is not None
    assert result.invoice is not None
    assert (
        result.calculated.totals.vat_total_in_tax_currency == result.invoice.totals.vat_total_in_tax_currency
    )


def test_tax_currency_equal_to_invoice_currency_warns(minimal_invoice):
    minimal_invoice["tax_currency_code"] = "EUR"
    minimal_invoice["totals"] = {"vat_total_in_tax_currency": "19.00"}
    result = check_invoice(minimal_invoice)
    assert result.ok
    [warning] = result.problems
    assert (warning.path, warning.severity) == ("$.tax_currency_code", Severity.WARNING)


def test_corrected_invoice_without_preceding_reference_warns(minimal_invoice):
    minimal_invoice["type_code"] = "384"
    result = check_invoice(minimal_invoice)
    assert result.ok
    assert [p.severity for p in result.problems] == [Severity.WARNING]
    minimal_invoice["preceding_invoices"] = [{"reference": "INV-2025-0099"}]
    assert check_invoice(minimal_invoice).problems == []


def test_gw_iban_sepa_credit_transfer_with_bad_check_digits_is_an_error(minimal_invoice):
    minimal_invoice["payment_instructions"] = {
        "means_code": "58",
        "credit_transfers": [{"account_identifier": "DE03120300000000202051"}],
    }
    problem = one(minimal_invoice, "GW-IBAN")
    assert problem.severity is Severity.ERROR
    assert problem.path == "$.payment_instructions.credit_transfers[0].account_identifier"
    assert problem.term == "BT-84"


def test_gw_iban_non_sepa_transfer_only_warns_and_ignores_non_iban_accounts(minimal_invoice):
    minimal_invoice["payment_instructions"] = {
        "means_code": "30",
        "credit_transfers": [
            {"account_identifier": "DE03120300000000202051"},
            {"account_identifier": "000123456789"},  # a US account number: not an IBAN, fine
        ],
    }
    found = with_rule(minimal_invoice, "GW-IBAN")
    assert [(p.severity, p.path) for p in found] == [
        (Severity.WARNING, "$.payment_instructions.credit_transfers[0].account_identifier")
    ]


def test_gw_iban_direct_debit_account(minimal_invoice):
    minimal_invoice["payment_instructions"] = {
        "means_code": "59",
        "direct_debit": {
            "mandate_reference": "M-1",
            "creditor_identifier": "DE98ZZZ09999999999",
            "debited_account_identifier": "FR7610278073050002019280141",
        },
    }
    problem = one(minimal_invoice, "GW-IBAN")
    assert problem.severity is Severity.ERROR
    assert problem.term == "BT-91"


def test_gw_bic_format_is_a_warning(minimal_invoice):
    minimal_invoice["payment_instructions"] = {
        "means_code": "58",
        "credit_transfers": [
            {"account_identifier": "DE02120300000000202051", "service_provider_identifier": "BYLA1"}
        ],
    }
    [problem] = with_rule(minimal_invoice, "GW-BIC")
    assert problem.severity is Severity.WARNING
    assert problem.term == "BT-86"


def test_br_16_an_invoice_without_lines(minimal_invoice):
    minimal_invoice["lines"] = []
    minimal_invoice["totals"] = {"tax_exclusive_amount": "100.00", "amount_due": "119.00"}
    problem = one(minimal_invoice, "BR-16")
    assert (problem.path, problem.term, problem.severity) == ("$.lines", "BG-25", Severity.ERROR)
    assert "MINIMUM" in problem.message


def test_br_10_an_invoice_without_the_buyer_address(minimal_invoice):
    del minimal_invoice["buyer"]["address"]
    problem = one(minimal_invoice, "BR-10")
    assert (problem.path, problem.term) == ("$.buyer.address", "BG-8")
