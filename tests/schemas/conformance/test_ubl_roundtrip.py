"""Every UBL document of the official corpus that is expected valid survives UBL → invoice → UBL.

For each row of ``expected.csv`` with format ``ubl`` and expected ``valid`` (the CEN examples
and test files, the Peppol examples and snippets):

1. ``formats.ubl.read.from_xml`` reads it, and every ``Loss`` it reports is a value that
   EN 16931 does not define: none sits where the UBL terms table (``formats/ubl/terms.py``)
   puts a business term, and each kind is one of ``ALLOWED_LOSSES``, with the reason.
2. ``formats.ubl.to_xml`` writes the invoice back in the profile its CustomizationID names
   (the Swedish CEN test files declare Peppol BIS 3.0 and are written as Peppol).
3. Every business term has the same values before and after (numbers as ``Decimal``, dates
   as text), and the output is validated with the set the row's verdict holds for (the same
   set as the input: the Swedish test files with the CEN set): no rule fires on the output
   that did not fire on the input (multisets of rule id and level).

Where the writer refuses what was read (``SerializeError``), the row is an expected failure
with the reason: ``SENDER_INCONSISTENT`` (the sender's amounts break the EN 16931
arithmetic, which the CEN rules do not check for lines) and ``WRITER_BUGS``.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from functools import cache

import pytest
from lxml import etree

from formats.invoice import RoundingRule
from formats.invoice.model import Invoice
from formats.ubl import EN16931, PEPPOL, XRECHNUNG, Profile, to_xml
from formats.ubl.read import Loss, from_xml
from formats.ubl.terms import NAMESPACES, locations, values
from schemas.engine import Engine, detect_syntax
from schemas.report import Validity
from tests.schemas.conformance.corpus import data, rows, tree

pytestmark = pytest.mark.conformance

ROWS = [row for row in rows("expected.csv") if row["format"] == "ubl" and row["expected"] == "valid"]
_SCOPE_GROUPS = {"en16931": "eu.cen.en16931", "peppol-bis3": "eu.peppol.bis3", "xrechnung": "de.xrechnung"}

# Received documents are written back with their stated amounts kept (keep_supplied), so
# even CEN examples whose line amounts do not follow from quantity × price (guide-example1..3,
# ubl-tc434-example1..3/10) or a sender's rounding (Rantefaktura_Enkel: 486 × 4.9715 written
# 2416.16) round-trip unchanged: converting must not change what the sender invoiced.

# The kinds of loss the reader may report (path without positions and without the root),
# each with why it is not an EN 16931 business term.
ALLOWED_LOSSES: dict[str, str] = {
    "@xsi:schemaLocation": "a hint for XML tools where the XSD is; no business data",
    "cbc:UBLVersionID": "the UBL version; EN 16931 has no such term (UBL-CR-002)",
    "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID": (
        "the scheme of a seller tax registration (BT-32) other than VAT, e.g. 'TAX': BT-32 has "
        "no scheme in EN 16931; the writer writes its own"
    ),
    "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID": (
        "a buyer tax registration whose scheme is not VAT: EN 16931 has only the buyer's VAT "
        "identifier (BT-48), which the CEN rules select with TaxScheme/ID = 'VAT'"
    ),
    "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID": (
        "the scheme of that buyer tax registration"
    ),
    "cac:PaymentMeans/cac:CardAccount/cbc:NetworkID": (
        "the card network (e.g. VISA): mandatory in UBL, not an EN 16931 term (BG-18 has BT-87, BT-88)"
    ),
}

NUMERIC = frozenset(
    {
        *(f"BT-{n}" for n in (92, 93, 94, 96, 99, 100, 101, 103, 119, 129, 131, 152)),
        *(f"BT-{n}" for n in range(106, 118)),
        *(f"BT-{n}" for n in (136, 137, 138, 141, 142, 143, 146, 147, 148, 149)),
    }
)
"""Terms whose values are numbers: compared as ``Decimal`` (``25`` equals ``25.00``)."""

BREAKDOWN = frozenset(f"BT-{n}" for n in range(116, 122))
"""BG-23: the writer writes the breakdown in the order ``calculate()`` finds the categories."""


def _params() -> list[pytest.ParameterSet]:
    return [pytest.param(row, id=row["path"]) for row in ROWS]


# ---------------------------------------------------------------------------- helpers


@cache
def _read(path: str) -> tuple[Invoice, tuple[Loss, ...]]:
    invoice, losses = from_xml(data(path))
    return invoice, tuple(losses)


def profile_for(specification: str | None) -> Profile:
    """The output profile the document's CustomizationID (BT-24) names."""
    spec = specification or ""
    if "xrechnung" in spec:
        return XRECHNUNG
    if "urn:fdc:peppol.eu:2017:poacc:billing:3.0" in spec:
        return PEPPOL
    return EN16931


def set_id_for(row: dict[str, str]) -> str:
    """The validation set the row's verdict holds for (``verdict_scope``), for the input's syntax."""
    syntax = detect_syntax(tree(row["path"]).getroot())
    assert syntax is not None, row["path"]
    return f"{_SCOPE_GROUPS[row['verdict_scope']]}:{syntax.value}"


def write_back(invoice: Invoice, profile: Profile) -> bytes:
    """The received invoice in UBL again, its stated amounts kept as stated."""
    return to_xml(invoice, profile, RoundingRule.TOTALS, keep_supplied=True)


def shape(path: str) -> str:
    """``/Invoice/cac:PaymentMeans[2]/cbc:X`` → ``cac:PaymentMeans/cbc:X`` (any root, any line)."""
    steps = re.sub(r"\[\d+\]", "", path).split("/")[2:]
    return "/".join(steps).replace("cac:CreditNoteLine", "cac:InvoiceLine")


def _lines(root: etree._Element) -> list[etree._Element]:
    found = root.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=NAMESPACES)
    assert isinstance(found, list)
    return [line for line in found if isinstance(line, etree._Element)]


def _first(element: etree._Element, xpath: str) -> str | None:
    found = element.xpath(f"string({xpath})", namespaces=NAMESPACES)
    text = str(found).strip()
    return text or None


def _implied(root: etree._Element) -> dict[str, list[str]]:
    """Per line, the values of BT-148 and BT-150 as EN 16931 reads them when left out.

    BT-150 is BT-130 when a base quantity has no unit of its own (the writer writes it);
    BT-148 is BT-146 + BT-147 when a discount comes without the gross price (the reader
    derives it, as the model needs the gross price of a discount).
    """
    gross: list[str] = []
    units: list[str] = []
    for line in _lines(root):
        if line.find("cac:Price/cbc:BaseQuantity", NAMESPACES) is not None:
            unit = _first(line, "cac:Price/cbc:BaseQuantity/@unitCode") or _first(
                line, "cbc:InvoicedQuantity/@unitCode | cbc:CreditedQuantity/@unitCode"
            )
            if unit:
                units.append(unit)
        if line.find("cac:Price/cac:AllowanceCharge", NAMESPACES) is not None:
            base = _first(line, "cac:Price/cac:AllowanceCharge/cbc:BaseAmount")
            if base is None:
                net = _first(line, "cac:Price/cbc:PriceAmount")
                discount = _first(line, "cac:Price/cac:AllowanceCharge/cbc:Amount")
                if net is not None and discount is not None:
                    base = str(Decimal(net) + Decimal(discount))
            if base is not None:
                gross.append(base)
    return {"BT-148": gross, "BT-150": units}


def _number(text: str) -> Decimal | str:
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def comparable(root: etree._Element) -> dict[str, list[object]]:
    """The business-term values of a document, normalized for comparison."""
    found: dict[str, list[str]] = {**values(root), **_implied(root)}
    out: dict[str, list[object]] = {}
    for term, texts in found.items():
        if term == "BT-121":  # BR-CL-22 compares VATEX codes in upper case; the reader upper-cases
            texts = [text.upper() for text in texts]
        if term == "BT-83":  # one term; senders state it in one or in every cac:PaymentMeans
            texts = list(dict.fromkeys(texts))
        items: list[object] = [_number(t) for t in texts] if term in NUMERIC else list(texts)
        out[term] = sorted(items, key=str) if term in BREAKDOWN else items
    return out


# ---------------------------------------------------------------------------- tests


def test_the_selection() -> None:
    assert len(ROWS) >= 70, "expected.csv lists fewer valid UBL documents than the corpus holds"


@pytest.mark.parametrize("row", _params())
def test_reading_loses_only_what_en16931_does_not_define(row: dict[str, str]) -> None:
    _, losses = _read(row["path"])
    term_paths = {
        path: term for term, paths in locations(tree(row["path"]).getroot()).items() for path in paths
    }
    lost_terms = [
        f"{loss.path} ({term_paths[loss.path]}): {loss.value!r}" for loss in losses if loss.path in term_paths
    ]
    assert not lost_terms, f"the reader lost EN 16931 business terms: {lost_terms}"
    unexpected = [
        f"{loss.path} (line {loss.line}): {loss.value!r}"
        for loss in losses
        if shape(loss.path) not in ALLOWED_LOSSES
    ]
    assert not unexpected, f"losses of a kind not reviewed yet: {unexpected}"
    for loss in losses:
        assert loss.reason
        assert loss.line is not None


@pytest.mark.parametrize("row", _params())
def test_round_trip(engine: Engine, row: dict[str, str]) -> None:
    path = row["path"]
    invoice, _ = _read(path)
    written = write_back(invoice, profile_for(invoice.process_control.specification_identifier))

    before_root = tree(path).getroot()
    after_root = etree.fromstring(written)
    assert after_root.tag == before_root.tag, "the output is another kind of document"

    before, after = comparable(before_root), comparable(after_root)
    changed = {term: (before[term], after[term]) for term in before if before[term] != after[term]}
    assert not changed, f"business terms changed (before, after): {changed}"

    set_id = set_id_for(row)
    report_in = engine.validate(data(path), path, set_id)
    report_out = engine.validate(written, f"{path} (written back)", set_id)
    assert report_out.set_id == report_in.set_id
    broken = [layer.name for layer in report_out.layers if layer.validity is Validity.ERROR]
    assert not broken, f"layers that could not run on the output: {broken}"
    fired_in = Counter((item.id, item.level.value) for item in report_in.items() if item.id)
    fired_out = Counter((item.id, item.level.value) for item in report_out.items() if item.id)
    new = fired_out - fired_in
    details = [
        f"{i.id} {i.level.value}: {i.message[:160]}"
        for i in report_out.items()
        if (i.id, i.level.value) in new
    ]
    assert not new, f"rules fire on the output that did not fire on the input: {details}"
