"""Taking the invoice XML out of any Factur-X / ZUGFeRD / XRechnung-in-PDF file.

The PDF is read through ``formats.facturx.container`` (bounded against hostile input, shared with
the validation engine's ``schemas.pdf``). The invoice is the file the XMP ``fx:DocumentFileName``
names, else the best standard name (``factur-x.xml``, ``zugferd-invoice.xml`` /
``ZUGFeRD-invoice.xml``, ``xrechnung.xml``), else an ``*.xml`` file in the name tree or the
catalog ``/AF`` array whose root is an invoice. Its bytes are returned exactly as embedded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO

from lxml import etree

from formats.errors import ParseError
from formats.facturx import container as c
from formats.facturx.container import PdfInputError
from formats.facturx.levels import agrees, level_for_guideline
from formats.invoice.loss import Loss
from formats.invoice.model import Invoice

_GUIDELINE_PARENTS = {"GuidelineSpecifiedDocumentContextParameter"}


@dataclass(frozen=True)
class Embedded:
    """The invoice found in a PDF and what the container says about it."""

    xml: bytes
    name: str  # the attachment's file name
    flavor: str  # "factur-x", "zugferd2", "zugferd1" or "xrechnung"
    conformance_level: str | None  # XMP fx:ConformanceLevel
    document_type: str | None  # XMP fx:DocumentType
    guideline_id: str | None  # BT-24 read from the XML
    attachments: list[str] = field(default_factory=list)  # the other embedded files' names


def extract(pdf: bytes, *, max_bytes: int = c.MAX_PDF_BYTES) -> Embedded:
    """The embedded invoice. Raises ``PdfInputError`` (an ``InvoiceInputError``) when the bytes
    are not a readable PDF, are encrypted or too large, carry no invoice, or when the XML's
    guideline id and the XMP conformance level disagree."""
    raw = c.precheck(pdf, max_bytes)
    with c.reading():
        _reader, catalog = c.open_pdf(raw)
        xmp = c.read_xmp(catalog).xmp
        finder = c.Finder()
        attachments = finder.attachments(catalog)
        chosen = finder.choose(attachments, xmp)
        xml = chosen.read()
        twins = chosen.stream_key()
        others = list(
            dict.fromkeys(a.name for a in attachments if a is not chosen and a.stream_key() != twins)
        )
    namespace = c.fx_namespace(xmp, chosen)
    level = (xmp.get(namespace, "ConformanceLevel") or None) if xmp and namespace else None
    doc_type = (xmp.get(namespace, "DocumentType") or None) if xmp and namespace else None
    root, guideline = _head(xml)
    flavor = _flavor(chosen, root, namespace)
    if level and guideline:
        from_xml = level_for_guideline(guideline)
        if from_xml and not agrees(level, from_xml):
            raise PdfInputError(
                f"the XMP conformance level {level!r} disagrees with the guideline id {guideline!r} "
                f"of the embedded {chosen.name} (which declares {from_xml})"
            )
    return Embedded(xml, chosen.name, flavor, level, doc_type, guideline, others)


def _flavor(chosen: c.Attachment, root: tuple[str, str] | None, namespace: str | None) -> str:
    if root == c.ZUGFERD1_ROOT or namespace == c.ZUGFERD1_NS:
        return "zugferd1"
    lowered = {n.lower() for n in chosen.names}
    if "xrechnung.xml" in lowered:
        return "xrechnung"
    if "zugferd-invoice.xml" in lowered or namespace == c.ZUGFERD2_NS:
        return "zugferd2"
    return "factur-x"


def _head(xml: bytes) -> tuple[tuple[str, str] | None, str | None]:
    """The root and the guideline id (BT-24; ZUGFeRD 1.0: GuidelineSpecifiedDocumentContext
    Parameter too), read from the start of the document without building all of it."""
    root: tuple[str, str] | None = None
    try:
        for event, element in etree.iterparse(
            BytesIO(xml),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        ):
            qname = etree.QName(element)
            if root is None:
                root = (qname.namespace or "", qname.localname)
                if root not in c.INVOICE_ROOTS:
                    return root, None
                continue
            if event != "end":
                continue
            parent = element.getparent()
            if (
                qname.localname == "ID"
                and parent is not None
                and etree.QName(parent).localname in _GUIDELINE_PARENTS
            ):
                return root, (element.text or "").strip() or None
            if qname.localname in ("SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction"):
                return root, None
    except etree.XMLSyntaxError:
        return root, None
    return root, None


def from_pdf(data: bytes) -> tuple[Invoice, list[Loss]]:
    """The invoice in a Factur-X/ZUGFeRD PDF, read into the canonical model, with the losses."""
    embedded = extract(data)
    if embedded.flavor == "zugferd1":
        raise ParseError(
            f"the PDF carries a ZUGFeRD 1.0 invoice ({embedded.name}, guideline "
            f"{embedded.guideline_id or 'unknown'}); ZUGFeRD 1.0 is not supported, only Factur-X / ZUGFeRD 2 "
            "(CII D16B)",
            path=embedded.name,
        )
    from formats.cii.read import from_xml

    return from_xml(embedded.xml)


__all__ = ["Embedded", "extract", "from_pdf"]
