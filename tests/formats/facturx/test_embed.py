"""formats.facturx.embed: the CII XML inside a PDF/A-3, checked structurally and by pikepdf.

The PDF/A-3 base is made here (ReportLab + pikepdf, ``base.py``); no corpus is needed. pikepdf's
PDF/A checker does not know XMP extension schemas, so on the embedded file the only violations
it may report are those about the Factur-X extension schema itself (see shared/docs/pdfa.md);
this is not a full veraPDF verdict.
"""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO
from typing import Any

import pikepdf
import pikepdf.pdfa
import pytest
from lxml import etree
from pypdf import PdfReader, PdfWriter

from formats.errors import InvoiceInputError, SerializeError
from formats.facturx import AttachedFile, embed, extract
from formats.facturx.levels import level_for_guideline
from schemas.pdf import check_pdf
from tests.formats.facturx.base import GUIDELINES, cii, pdfa

FLAVOR = {"XRECHNUNG": "xrechnung"}
RELATIONSHIP = {
    "MINIMUM": "/Data",
    "BASIC WL": "/Data",
    "BASIC": "/Alternative",
    "EN 16931": "/Alternative",
    "EXTENDED": "/Alternative",
    "XRECHNUNG": "/Alternative",
}
FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
ZF2 = "urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#"
# The XMP namespaces/properties pikepdf's checker cannot know (no extension-schema support).
EXTENSION_FINDING = re.compile(r"XMP (namespace|property) (pdfaExtension|pdfaSchema|pdfaProperty|fx)\b")


def embedded(level: str = "EN 16931", **kwargs: object) -> bytes:
    kwargs.setdefault("flavor", FLAVOR.get(level, "factur-x"))
    return embed(pdfa(), cii(GUIDELINES[level]), level=level, **kwargs)  # type: ignore[arg-type]


def catalog(pdf: bytes) -> Any:
    return PdfReader(BytesIO(pdf)).trailer["/Root"]


def xmp_of(pdf: bytes) -> etree._Element:
    with pikepdf.open(BytesIO(pdf)) as doc:
        return etree.fromstring(doc.Root.Metadata.read_bytes())


def fx_props(pdf: bytes, ns: str = FX) -> dict[str, str]:
    return {etree.QName(e).localname: e.text or "" for e in xmp_of(pdf).iter(f"{{{ns}}}*")}


@pytest.mark.parametrize("level", list(GUIDELINES))
def test_every_level_passes_the_structural_checks_and_round_trips(level: str) -> None:
    xml = cii(GUIDELINES[level])
    out = embedded(level)
    check = check_pdf(out)
    assert [(i.id, i.message) for i in check.items] == []
    assert check.xml == xml  # byte-identical
    name = "xrechnung.xml" if level == "XRECHNUNG" else "factur-x.xml"
    assert check.filename == name
    assert check.xmp_profile == level
    got = extract(out)
    assert (got.xml, got.name, got.conformance_level, got.document_type) == (xml, name, level, "INVOICE")
    assert got.guideline_id == GUIDELINES[level]
    assert level_for_guideline(GUIDELINES[level]) == level
    spec = catalog(out)["/AF"][0].get_object()
    assert spec["/AFRelationship"] == RELATIONSHIP[level]
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/text/xml"
    assert fx_props(out) == {
        "DocumentType": "INVOICE",
        "DocumentFileName": name,
        "Version": "1.0",
        "ConformanceLevel": level,
    }


def test_pikepdf_finds_nothing_but_the_extension_schema_it_does_not_know() -> None:
    before = pikepdf.pdfa.check(pikepdf.open(BytesIO(pdfa())), "3b")
    assert [f for f in before.findings if f.kind == "violation"] == []  # the base is a clean PDF/A-3b
    after = pikepdf.pdfa.check(pikepdf.open(BytesIO(embedded())), "3b")
    violations = [f.message for f in after.findings if f.kind == "violation"]
    assert violations, "pikepdf should flag the Factur-X extension schema it does not support"
    assert [m for m in violations if not EXTENSION_FINDING.search(m)] == []


def test_renderer_xmp_is_kept_and_pdfaid_stays_3b() -> None:
    root = xmp_of(embedded())
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    pdfaid = "http://www.aiim.org/pdfa/ns/id/"
    assert root.findtext(f".//{{{pdfaid}}}part") == "3"
    assert root.findtext(f".//{{{pdfaid}}}conformance") == "B"
    assert root.findtext(".//{http://purl.org/dc/elements/1.1/}title/*/*") == "Test invoice"
    assert all(d.get(f"{{{rdf}}}about") == "" for d in root.iter(f"{{{rdf}}}Description"))


def test_pdfa_2_base_is_relabelled_part_3() -> None:
    out = embed(pdfa("2"), cii(), level="EN 16931")
    assert xmp_of(out).findtext(".//{http://www.aiim.org/pdfa/ns/id/}part") == "3"
    assert check_pdf(out).items == []


def test_zugferd_naming() -> None:
    out = embedded("EN 16931", flavor="zugferd")
    assert check_pdf(out).items == []
    got = extract(out)
    assert (got.name, got.flavor) == ("zugferd-invoice.xml", "zugferd2")
    assert fx_props(out, ZF2)["DocumentFileName"] == "zugferd-invoice.xml"


def test_deterministic_with_the_date_given() -> None:
    first = embedded(modified=date(2025, 3, 1))
    assert first == embedded(modified=date(2025, 3, 1))
    params = catalog(first)["/AF"][0].get_object()["/EF"]["/F"].get_object()["/Params"]
    assert params["/ModDate"] == "D:20250301000000+00'00'"
    assert first != embedded(modified=date(2025, 3, 2))
    assert embedded() == embedded()


def test_extra_attachments() -> None:
    note = AttachedFile("delivery-note.pdf", b"%PDF-1.4 note", "application/pdf", "Delivery note")
    out = embedded(attachments=[note])
    check = check_pdf(out)
    assert check.items == []
    assert extract(out).attachments == ["delivery-note.pdf"]
    specs = {str(s.get_object()["/F"]): s.get_object() for s in catalog(out)["/AF"]}
    assert specs["delivery-note.pdf"]["/AFRelationship"] == "/Supplement"
    assert specs["delivery-note.pdf"]["/EF"]["/F"].get_object().get_data() == b"%PDF-1.4 note"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"level": "PLATINUM"}, "unknown Factur-X level 'PLATINUM'"),
        ({"level": "EN 16931", "flavor": "order-x"}, "unknown flavor 'order-x'"),
        ({"level": "EN 16931", "flavor": "xrechnung"}, "embeds XRechnung only"),
        ({"level": "MINIMUM"}, "declares EN 16931, but the level to embed is MINIMUM"),
        ({"level": "EXTENDED"}, "'urn:cen.eu:en16931:2017' declares EN 16931"),
    ],
)
def test_level_and_flavor_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(SerializeError, match=re.escape(message)):
        embed(pdfa(), cii(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"", "empty"),
        (b"<rsm:CrossIndustryInvoice", "not well-formed"),
        (b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>", "not a CII invoice"),
        (
            b"<rsm:CrossIndustryDocument xmlns:rsm='urn:ferd:CrossIndustryDocument:invoice:1p0'/>",
            "ZUGFeRD 1.0",
        ),
        (cii().replace(b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID>", b""), "no guideline id (BT-24"),
        (cii("urn:example:unknown"), "declares no Factur-X level"),
    ],
)
def test_xml_errors(xml: bytes, message: str) -> None:
    with pytest.raises(SerializeError, match=re.escape(message)):
        embed(pdfa(), xml, level="EN 16931")


def _encrypted() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdfa())))
    writer.encrypt("", "owner", algorithm="RC4-128")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _without_xmp() -> bytes:
    doc = pikepdf.open(BytesIO(pdfa()))
    del doc.Root.Metadata
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("pdf", "message"),
    [
        (lambda: b"", "empty"),
        (lambda: b"hello", "not a PDF"),
        (lambda: pdfa()[: len(pdfa()) // 3], "damaged or truncated"),
        (_encrypted, "encrypted"),
        (_without_xmp, "no XMP metadata"),
        (lambda: pdfa("1"), "declares PDF/A-1"),
        (lambda: embedded(), "already embeds an invoice (factur-x.xml)"),
    ],
)
def test_pdf_errors(pdf: Any, message: str) -> None:
    data = pdf()
    copy = bytes(data)
    with pytest.raises(InvoiceInputError, match=re.escape(message)):
        embed(data, cii(), level="EN 16931")
    assert data == copy  # the input is never changed


@pytest.mark.parametrize(
    ("attachment", "message"),
    [
        (AttachedFile("factur-x.xml", b"x"), "reserved for the invoice"),
        (AttachedFile("", b"x"), "is empty"),
        (AttachedFile("a.txt", b"x", "text plain"), "is not a MIME type"),
        (AttachedFile("a.txt", b"x", relationship="Other"), "is not PDF/A-3"),
    ],
)
def test_attachment_errors(attachment: AttachedFile, message: str) -> None:
    with pytest.raises(SerializeError, match=re.escape(message)):
        embed(pdfa(), cii(), level="EN 16931", attachments=[attachment])


def test_classic_xref_file_gets_an_incremental_update() -> None:
    """The rendered bytes are kept as they are; the invoice, XMP and catalog are appended."""
    base = pdfa()
    out = embedded()
    assert out.startswith(base)
    assert out.count(b"startxref") == base.count(b"startxref") + 1
    with pikepdf.open(BytesIO(out)) as doc:  # qpdf reads it without repairing anything
        assert doc.check_pdf_syntax() == []


def test_xref_stream_file_is_rewritten_whole() -> None:
    doc = pikepdf.open(BytesIO(pdfa()))
    packed = BytesIO()
    doc.save(packed, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    base = packed.getvalue()
    out = embed(base, cii(), level="EN 16931")
    assert not out.startswith(base)
    assert check_pdf(out).items == []
    assert extract(out).xml == cii()
