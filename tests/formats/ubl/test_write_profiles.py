"""Every example invoice, written as plain EN 16931, Peppol BIS 3.0 and XRechnung 3.0, is valid.

"Valid" is strict here: the matching official validation set (UBL XSD, CEN rules, then the
Peppol or XRechnung rules) reports no item at any level, not even a warning or a notice. The
rule packs come from ``../shared/corpus``; without it those tests are skipped. The XSD, root
element and determinism checks, and the ``SerializeError`` tests, need only the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from formats.errors import SerializeError
from formats.invoice import DocumentTotals, ElectronicAddress, Invoice, load_json, parse_invoice
from formats.ubl import EN16931, PEPPOL, PROFILES, XRECHNUNG, Profile, to_xml
from formats.ubl import write as ubl_write
from schemas.artefacts import resolve
from schemas.engine import Engine
from schemas.xmlsafe import parse_xml

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
CASES = [pytest.param(path, p, id=f"{path.stem}.{p.name}") for path in EXAMPLES for p in PROFILES.values()]

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDITNOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CREDIT_NOTES = {"be-credit-note"}


@cache
def example(stem: str) -> Invoice:
    """The example invoice ``examples/<stem>.json``; shared, so copy it before changing it."""
    return parse_invoice(load_json((REPO / "examples" / f"{stem}.json").read_bytes()))


@cache
def written(stem: str, profile: Profile) -> bytes:
    return to_xml(example(stem), profile)


@cache
def ubl_schema(credit_note: bool) -> etree.XMLSchema:
    """The UBL 2.1 maindoc XSD the gateway ships (built in: no rule pack needed)."""
    resolved = resolve("ubl-creditnote-xsd" if credit_note else "ubl-invoice-xsd")
    assert resolved is not None
    return etree.XMLSchema(etree.parse(str(resolved.path)))


# ------------------------------------------------------------------ the examples, every profile


def test_there_are_examples_of_both_document_kinds() -> None:
    stems = {path.stem for path in EXAMPLES}
    assert stems > CREDIT_NOTES
    assert {stem for stem in stems if example(stem).is_credit_note} == CREDIT_NOTES


@pytest.mark.conformance
@pytest.mark.parametrize(("path", "profile"), CASES)
def test_example_validates_without_any_item(engine: Engine, path: Path, profile: Profile) -> None:
    invoice = example(path.stem)
    set_id = profile.validation_set(invoice.is_credit_note)
    report = engine.validate(written(path.stem, profile), path.name, set_id)
    assert report.error is None
    assert report.set_id == set_id
    items = [(item.level.value, item.id, item.message) for item in report.items()]
    assert items == []
    assert [(layer.name, layer.validity.value, layer.message) for layer in report.layers] == [
        (layer.name, "valid", None) for layer in report.layers
    ]
    assert report.valid


@pytest.mark.parametrize(("path", "profile"), CASES)
def test_example_is_xsd_valid(path: Path, profile: Profile) -> None:
    root = parse_xml(written(path.stem, profile)).getroot()
    schema = ubl_schema(example(path.stem).is_credit_note)
    assert schema.validate(root), [str(error) for error in schema.error_log][:5]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "profile"), CASES)
def test_example_is_written_deterministically(path: Path, profile: Profile) -> None:
    first = to_xml(parse_invoice(load_json(path.read_bytes())), profile)
    second = to_xml(parse_invoice(load_json(path.read_bytes())), profile)
    assert first == second
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n")


@pytest.mark.parametrize(("path", "profile"), CASES)
def test_root_element_and_profile_identifiers(path: Path, profile: Profile) -> None:
    root = parse_xml(written(path.stem, profile)).getroot()
    if path.stem in CREDIT_NOTES:
        assert root.tag == f"{{{CREDITNOTE_NS}}}CreditNote"
        assert root.findtext(f"{{{CBC}}}CreditNoteTypeCode") == "381"
        assert root.find(f"{{{CBC}}}InvoiceTypeCode") is None
    else:
        assert root.tag == f"{{{INVOICE_NS}}}Invoice"
        assert root.findtext(f"{{{CBC}}}InvoiceTypeCode") == "380"
    assert root.findtext(f"{{{CBC}}}CustomizationID") == profile.customization_id
    assert root.findtext(f"{{{CBC}}}ProfileID") == profile.profile_id


# ------------------------------------------------------------------ SerializeError


@pytest.fixture
def no_xml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the writer starts building XML: refusals must come before any XML."""

    def build(self: object) -> None:
        raise AssertionError("the writer started building XML")

    monkeypatch.setattr(ubl_write._Writer, "build", build)


def _problems(exc: SerializeError) -> list[tuple[str | None, str | None, str]]:
    return [(p.term, p.rule, p.path) for p in exc.problems]


@pytest.mark.usefixtures("no_xml")
def test_xrechnung_without_buyer_reference_names_bt10_and_br_de_15() -> None:
    invoice = example("de-domestic-b2b").model_copy(update={"buyer_reference": None})
    with pytest.raises(SerializeError) as caught:
        to_xml(invoice, XRECHNUNG)
    assert _problems(caught.value) == [("BT-10", "BR-DE-15", "$.buyer_reference")]
    assert "BT-10" in str(caught.value)
    assert "BR-DE-15" in str(caught.value)
    assert "XRechnung" in str(caught.value)


@pytest.mark.usefixtures("no_xml")
@pytest.mark.parametrize("party", ["seller", "buyer"])
def test_peppol_refuses_an_email_address_naming_cl008(party: str) -> None:
    invoice = example("de-domestic-b2b").model_copy(deep=True)
    getattr(invoice, party).electronic_address = ElectronicAddress(value="ap@example.de", scheme="EM")
    with pytest.raises(SerializeError) as caught:
        to_xml(invoice, PEPPOL)
    assert [(rule, path) for _, rule, path in _problems(caught.value)] == [
        ("PEPPOL-EN16931-CL008", f"$.{party}.electronic_address.scheme")
    ]
    assert "PEPPOL-EN16931-CL008" in str(caught.value)
    assert "'EM'" in str(caught.value)


def test_plain_en16931_writes_an_email_address() -> None:
    invoice = example("de-domestic-b2b").model_copy(deep=True)
    invoice.seller.electronic_address = ElectronicAddress(value="ap@example.de", scheme="EM")
    root = parse_xml(to_xml(invoice, EN16931)).getroot()
    endpoints = root.iter(f"{{{CBC}}}EndpointID")
    assert [(e.text, e.get("schemeID")) for e in endpoints] == [
        ("ap@example.de", "EM"),
        ("DE987654321", "9930"),
    ]


# de-domestic-b2b: BT-109 6257.50, BT-110 1180.53, BT-112 7438.03, BT-115 7438.03 (tests/test_examples.py)
WRONG_TOTALS = [
    pytest.param("tax_exclusive_amount", "6257.49", "BT-109", id="BT-109"),
    pytest.param("vat_total", "1180.54", "BT-110", id="BT-110"),
    pytest.param("tax_inclusive_amount", "7438.00", "BT-112", id="BT-112"),
    pytest.param("amount_due", "7438.30", "BT-115", id="BT-115"),
]


@pytest.mark.usefixtures("no_xml")
@pytest.mark.parametrize("profile", PROFILES.values(), ids=lambda p: p.name)
@pytest.mark.parametrize(("field", "supplied", "term"), WRONG_TOTALS)
def test_supplied_totals_that_disagree_name_the_term(
    field: str, supplied: str, term: str, profile: Profile
) -> None:
    invoice = example("de-domestic-b2b").model_copy(
        update={"totals": DocumentTotals.model_validate({field: supplied})}
    )
    with pytest.raises(SerializeError) as caught:
        to_xml(invoice, profile)
    assert _problems(caught.value) == [(term, None, f"$.totals.{field}")]
    assert term in str(caught.value)
    assert supplied in str(caught.value)


def test_supplied_line_net_amount_that_disagrees_names_bt131() -> None:
    invoice = example("de-domestic-b2b").model_copy(deep=True)
    invoice.lines[0].net_amount = Decimal("5000.01")
    with pytest.raises(SerializeError) as caught:
        to_xml(invoice, EN16931)
    assert _problems(caught.value) == [("BT-131", None, "$.lines[0].net_amount")]
    assert "5000.01" in str(caught.value)


@pytest.mark.parametrize("profile", PROFILES.values(), ids=lambda p: p.name)
def test_supplied_totals_that_agree_are_written_unchanged(profile: Profile) -> None:
    invoice = example("de-domestic-b2b").model_copy(
        update={
            "totals": DocumentTotals(
                tax_exclusive_amount=Decimal("6257.50"),
                vat_total=Decimal("1180.53"),
                tax_inclusive_amount=Decimal("7438.03"),
                amount_due=Decimal("7438.03"),
            )
        }
    )
    assert to_xml(invoice, profile) == written("de-domestic-b2b", profile)


# ------------------------------------------------------------------ known gaps in the profiles


def _no_payment(data: dict[str, Any]) -> None:
    del data["payment_instructions"]


def _no_seller_contact(data: dict[str, Any]) -> None:
    del data["seller"]["contact"]


def _no_seller_telephone(data: dict[str, Any]) -> None:
    del data["seller"]["contact"]["telephone"]


def _no_seller_city(data: dict[str, Any]) -> None:
    del data["seller"]["address"]["city"]


def _no_buyer_post_code(data: dict[str, Any]) -> None:
    del data["buyer"]["address"]["post_code"]


def _deliver_to_without_post_code(data: dict[str, Any]) -> None:
    data["delivery"]["address"] = {"line1": "Hafenweg 5", "city": "Hamburg", "country_code": "DE"}


@pytest.mark.usefixtures("no_xml")
@pytest.mark.parametrize(
    ("change", "profile", "term", "rule"),
    [
        pytest.param(_no_payment, PEPPOL, "BG-16", "DE-R-001", id="peppol-DE-R-001"),
        pytest.param(_no_seller_contact, PEPPOL, "BG-6", "DE-R-002", id="peppol-DE-R-002"),
        pytest.param(_no_seller_city, PEPPOL, "BT-37", "DE-R-003", id="peppol-DE-R-003"),
        pytest.param(_no_seller_telephone, PEPPOL, "BT-42", "DE-R-006", id="peppol-DE-R-006"),
        pytest.param(_no_buyer_post_code, PEPPOL, "BT-53", "DE-R-009", id="peppol-DE-R-009"),
        pytest.param(_deliver_to_without_post_code, PEPPOL, "BT-78", "DE-R-011", id="peppol-DE-R-011"),
        pytest.param(_deliver_to_without_post_code, XRECHNUNG, "BT-78", "BR-DE-11", id="xrechnung-BR-DE-11"),
    ],
)
def test_german_rules_are_checked_before_any_xml(
    change: Callable[[dict[str, Any]], None], profile: Profile, term: str, rule: str
) -> None:
    data = load_json((REPO / "examples" / "de-domestic-b2b.json").read_bytes())
    change(data)
    with pytest.raises(SerializeError) as caught:
        to_xml(parse_invoice(data), profile)
    assert (term, rule) in [(p.term, p.rule) for p in caught.value.problems]


@pytest.mark.usefixtures("no_xml")
@pytest.mark.parametrize("profile", [EN16931, PEPPOL, XRECHNUNG], ids=lambda p: p.name)
def test_a_line_less_summary_is_refused_with_br_16(profile: Profile) -> None:
    summary = example("de-domestic-b2b").model_copy(update={"lines": []})
    with pytest.raises(SerializeError) as caught:
        to_xml(summary, profile)
    [problem] = caught.value.problems
    assert (problem.rule, problem.term, problem.path) == ("BR-16", "BG-25", "$.lines")


@pytest.mark.usefixtures("no_xml")
def test_a_minimum_summary_without_buyer_address_is_refused_with_br_10() -> None:
    invoice = example("de-domestic-b2b")
    summary = invoice.model_copy(update={"buyer": invoice.buyer.model_copy(update={"address": None})})
    with pytest.raises(SerializeError) as caught:
        to_xml(summary, EN16931)
    assert _problems(caught.value) == [("BG-8", "BR-10", "$.buyer.address")]
