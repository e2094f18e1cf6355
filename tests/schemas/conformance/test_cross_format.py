"""UBL ↔ CII through the canonical invoice: the business terms survive the change of syntax.

Every UBL document of the corpus expected valid is read, written as CII (EN 16931 profile,
amounts kept as stated), and the CII read and written as UBL again; every CEN CII example
goes the other way round. Checked:

1. the intermediate document carries the same values as the original for the business
   terms the issue names (BT-1, 2, 3, 5, 9, 10, 13, 27, 31, 44, 48, 106–115, the VAT
   breakdown, and per line BT-126, 129–131, 146, 151–153), each syntax read through its own
   terms table (``formats/ubl/terms.py``, ``formats/cii/terms.py``), dates and numbers
   normalised (``2017-11-13`` is ``20171113``, ``25`` is ``25.00``);
2. the document that comes back equals the original on every term of its own table;
3. the intermediate CII passes the CEN CII rules without errors where the original passed
   the CEN UBL rules (and the other way round).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import pytest
from lxml import etree

from formats import cii, ubl
from formats.cii import terms as cii_terms
from formats.cii.read import from_xml as read_cii
from formats.errors import SerializeError
from formats.invoice import RoundingRule
from formats.ubl import terms as ubl_terms
from formats.ubl.read import from_xml as read_ubl
from schemas.engine import Engine
from schemas.report import Level
from tests.schemas.conformance.corpus import data, rows
from tests.schemas.conformance.test_ubl_roundtrip import comparable as ubl_comparable
from tests.schemas.conformance.test_ubl_roundtrip import profile_for

pytestmark = pytest.mark.conformance

UBL_ROWS = [r for r in rows("expected.csv") if r["format"] == "ubl" and r["expected"] == "valid"]
CII_ROWS = [
    r
    for r in rows("expected.csv")
    if r["format"] == "cii" and r["expected"] == "valid" and r["verdict_scope"] == "en16931"
]

HEADER = [f"BT-{n}" for n in (1, 2, 3, 5, 9, 10, 13, 27, 31, 44, 48, *range(106, 116))]
BREAKDOWN = [f"BT-{n}" for n in range(116, 122)]
LINES = [f"BT-{n}" for n in (126, 129, 130, 131, 146, 151, 152, 153)]
TERMS = HEADER + BREAKDOWN + LINES
SETS = {"ubl": "eu.cen.en16931:ubl-invoice:1.3.16", "cii": "eu.cen.en16931:cii:1.3.16"}

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
NUMERIC = frozenset([*(f"BT-{n}" for n in (*range(106, 116), 116, 117, 119, 129, 131, 146, 152))])


def _normal(term: str, text: str) -> object:
    text = text.strip()
    if term in NUMERIC:
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    match = _DATE.match(text)
    if match:  # UBL xs:date → CII format 102
        return "".join(match.groups())
    return text.upper() if term == "BT-121" else text


def named(found: dict[str, list[str]]) -> dict[str, list[object]]:
    """The issue's terms, normalised across syntaxes (the breakdown order-free).

    BT-110 absent is BT-110 0: UBL must state ``cac:TaxTotal/cbc:TaxAmount`` (an invoice
    with only category O states 0.00), CII may leave ``ram:TaxTotalAmount`` out.
    """
    out: dict[str, list[object]] = {}
    for term in TERMS:
        items = [_normal(term, t) for t in found.get(term, [])]
        out[term] = sorted(items, key=str) if term in BREAKDOWN else items
    if out["BT-110"] in ([], [Decimal(0)]):
        out["BT-110"] = [Decimal(0)]
    return out


def _unordered_ids(found: dict[str, list[object]]) -> dict[str, list[object]]:
    """BT-29 (0..n seller identifiers) and their schemes, in any order.

    The CII XSD puts every ``ram:ID`` (no scheme) before every ``ram:GlobalID``, so a UBL
    list mixing both comes back in another order; the order carries no meaning.
    """
    out = dict(found)
    for term in ("BT-29", "BT-29-1"):
        out[term] = sorted(found.get(term, []), key=str)
    return out


def _set_for(root: etree._Element, syntax: str) -> str:
    if syntax == "ubl" and etree.QName(root).localname == "CreditNote":
        return "eu.cen.en16931:ubl-creditnote:1.3.16"
    return SETS[syntax]


def errors(engine: Engine, document: bytes, name: str, set_id: str) -> list[str]:
    report = engine.validate(document, name, set_id)
    return [f"{i.id}: {i.message[:140]}" for i in report.items() if i.level is Level.ERROR]


@pytest.mark.parametrize("row", [pytest.param(r, id=r["path"]) for r in UBL_ROWS])
def test_ubl_to_cii_and_back(engine: Engine, row: dict[str, str]) -> None:
    original = data(row["path"])
    invoice, _ = read_ubl(original)
    if len(invoice.preceding_invoices) > 1:
        # the CEN CII D16B XSD has one ram:InvoiceReferencedDocument: refused, naming BG-3
        with pytest.raises(SerializeError, match="CII-D16B-XSD") as caught:
            cii.to_xml(invoice, cii.EN16931, RoundingRule.TOTALS, keep_supplied=True)
        assert {p.term for p in caught.value.problems} == {"BG-3"}
        return
    as_cii = cii.to_xml(invoice, cii.EN16931, RoundingRule.TOTALS, keep_supplied=True)

    root = etree.fromstring(original)
    middle = etree.fromstring(as_cii)
    assert named(cii_terms.values(middle)) == named(ubl_terms.values(root))

    again, _ = read_cii(as_cii)
    profile = profile_for(invoice.process_control.specification_identifier)
    back = ubl.to_xml(again, profile, RoundingRule.TOTALS, keep_supplied=True)
    assert _unordered_ids(ubl_comparable(etree.fromstring(back))) == _unordered_ids(ubl_comparable(root))

    if not errors(engine, original, row["path"], _set_for(root, "ubl")):
        assert errors(engine, as_cii, f"{row['path']} as CII", SETS["cii"]) == []


@pytest.mark.parametrize("row", [pytest.param(r, id=r["path"]) for r in CII_ROWS])
def test_cii_to_ubl_and_back(engine: Engine, row: dict[str, str]) -> None:
    original = data(row["path"])
    invoice, _ = read_cii(original)
    as_ubl = ubl.to_xml(invoice, ubl.EN16931, RoundingRule.TOTALS, keep_supplied=True)

    root = etree.fromstring(original)
    middle = etree.fromstring(as_ubl)
    assert named(ubl_terms.values(middle)) == named(cii_terms.values(root))

    again, _ = read_ubl(as_ubl)
    back = cii.to_xml(again, cii.EN16931, RoundingRule.TOTALS, keep_supplied=True)
    assert named(cii_terms.values(etree.fromstring(back))) == named(cii_terms.values(root))

    if not errors(engine, original, row["path"], SETS["cii"]):
        assert errors(engine, as_ubl, f"{row['path']} as UBL", _set_for(middle, "ubl")) == []
