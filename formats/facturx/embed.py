"""Embedding a CII invoice into a PDF/A-3: the Factur-X / ZUGFeRD / XRechnung-in-PDF container.

Written here rather than through ``facturx.generate_from_file``: that function always names the
file ``factur-x.xml`` with the Factur-X XMP namespace (no ZUGFeRD 2 or XRechnung naming), stamps
the current time into ``/ModDate`` and the XMP (so two runs differ), replaces the renderer's
whole XMP (dropping ``rdf:about`` and the document's own title/dates, which then no longer
match the Info dictionary), writes only to a file path, and re-parses and rewrites the whole
PDF. Here the renderer's XMP is kept and extended, the only date written is the one given, and
identical input gives identical bytes. A file whose last cross-reference section is a classic
table (ReportLab's) gets an incremental update: the rendered bytes stay as they are and the
files, the XMP and a new catalog are appended (about 1.4 ms for a 10-line invoice, against
about 7 ms to clone and rewrite it with pypdf, which remains the path for other files).

Everything is checked before anything is written: the level, the flavour, the XML (a CII invoice
whose guideline id agrees with the level), the PDF (readable, not encrypted, PDF/A, no invoice
already embedded) and the extra attachments. ``embed`` returns new bytes; it never changes its
input, so an error leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from io import BytesIO
from typing import Any

from lxml import etree
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from formats.cii.ns import RAM, RSM, ZUGFERD1_NS
from formats.errors import InvoiceInputError, ParseError, SerializeError
from formats.facturx import container as c
from formats.facturx.levels import FLAVORS, agrees, level, level_for_guideline
from formats.xmlsafe import parse as parse_xml

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""Largest extra attachment embedded beside the invoice."""

_FX_PROPERTY_DESCRIPTIONS = (
    ("DocumentFileName", "The name of the embedded XML document"),
    ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
    ("Version", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "The conformance level of the embedded XML document"),
)
_X = "adobe:ns:meta/"
_XML_NS = "http://www.w3.org/XML/1998/namespace"


@dataclass(frozen=True)
class AttachedFile:
    """A file embedded beside the invoice (a delivery note, a timesheet), PDF/A-3 style."""

    name: str
    data: bytes
    mime_type: str = "application/octet-stream"
    description: str = ""
    relationship: str = "Supplement"  # PDF/A-3: Source, Data, Alternative, Supplement, Unspecified


def embed(
    pdf: bytes,
    xml: bytes,
    *,
    level: str,
    flavor: str = "factur-x",
    attachments: Sequence[AttachedFile] = (),
    modified: date | datetime | None = None,
) -> bytes:
    """The PDF/A-3 ``pdf`` with the CII ``xml`` embedded as a Factur-X/ZUGFeRD/XRechnung invoice.

    ``level`` is the conformance level (``"EN 16931"``, ``"en16931"``, ``"BASIC WL"``...);
    ``modified`` the date written as the embedded file's ``/ModDate`` (none when not given).
    Raises ``SerializeError`` for a level/flavour/XML mismatch and ``InvoiceInputError`` for a
    PDF that cannot carry the invoice.
    """
    chosen = _level(level)
    kind = FLAVORS.get(flavor)
    if kind is None:
        raise SerializeError(f"unknown flavor {flavor!r}; expected one of {', '.join(FLAVORS)}")
    if kind.name == "xrechnung" and chosen.xmp != "XRECHNUNG":
        raise SerializeError(f"the xrechnung flavor embeds XRechnung only; the level given is {chosen.xmp}")
    _check_xml(xml, chosen.xmp)
    extras = list(attachments)
    _check_attachments(extras, kind.file_name)
    stamp = _pdf_date(modified) if modified is not None else None

    raw = c.precheck(pdf)
    with c.reading():
        reader, catalog = c.open_pdf(raw)
        reading = c.read_xmp(catalog)
        if reading.xmp is None:
            why = (
                "it has no XMP metadata" if reading.missing else f"its XMP cannot be read ({reading.invalid})"
            )
            raise c.PdfInputError(f"the PDF cannot become a Factur-X file: {why}; render it as PDF/A-3 first")
        part = reading.xmp.get(c.PDFAID, "part")
        if part not in ("2", "3"):
            claimed = f"PDF/A-{part}" if part else "no PDF/A part (pdfaid:part)"
            raise c.PdfInputError(
                f"the PDF declares {claimed}; an embedded invoice needs a PDF/A-3 base "
                "(render it as PDF/A-3b)"
            )
        existing = c.Finder().attachments(catalog)
        taken = [a.name for a in existing if a.is_standard_invoice_name()]
        if taken:
            raise c.PdfInputError(
                f"the PDF already embeds an invoice ({', '.join(taken)}); refusing to add another"
            )
        packet = _xmp_packet(catalog, kind.namespace, kind.file_name, kind.version, chosen.xmp)
        files = [_EmbeddedFile(kind.file_name, xml, "text/xml", chosen.relationship, "Invoice XML")]
        files += [
            _EmbeddedFile(e.name, e.data, e.mime_type, "/" + e.relationship, e.description) for e in extras
        ]
        appended = _incremental(raw, reader, catalog, files, packet, stamp)
        if appended is not None:
            return appended
        writer = PdfWriter(clone_from=reader)
        _attach(writer, files, stamp)
        _replace_metadata(writer, packet)
        out = BytesIO()
        writer.write(out)
    return out.getvalue()


@dataclass(frozen=True)
class _EmbeddedFile:
    name: str
    data: bytes
    mime: str
    relationship: str  # a PDF name: /Alternative
    description: str


_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


def _incremental(
    raw: bytes,
    reader: PdfReader,
    catalog: DictionaryObject,
    files: list[_EmbeddedFile],
    packet: bytes,
    stamp: str | None,
) -> bytes | None:
    """The original bytes followed by an incremental update (ISO 32000 7.5.6, allowed by PDF/A)
    adding the files, the XMP and a new catalog: nothing of the rendered file is parsed or
    written again. Only for a file whose last cross-reference section is a classic table (as
    ReportLab writes); otherwise None, and the whole file is rewritten."""
    tail = _STARTXREF.search(raw[-64:])
    root_ref = reader.trailer.raw_get("/Root")
    size = reader.trailer.get("/Size")
    if tail is None or not isinstance(root_ref, IndirectObject) or not isinstance(size, int):
        return None
    previous = int(tail.group(1))
    if raw[previous : previous + 4] != b"xref":
        return None
    objects: dict[int, bytes] = {}
    number = size

    def add(obj: Any) -> IndirectObject:
        nonlocal number
        objects[number] = _serialize(obj)
        ref = IndirectObject(number, 0, reader)
        number += 1
        return ref

    new_specs = [(f.name, _spec_object(add, f, stamp)) for f in files]
    new_catalog = DictionaryObject(dict(catalog.items()))
    _link(new_catalog, new_specs, add)
    metadata = DecodedStreamObject()
    metadata.set_data(packet)
    metadata[NameObject("/Type")] = NameObject("/Metadata")
    metadata[NameObject("/Subtype")] = NameObject("/XML")
    new_catalog[NameObject("/Metadata")] = add(metadata)
    objects[root_ref.idnum] = _serialize(new_catalog)

    out = bytearray(raw)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets: dict[int, int] = {}
    for idnum in sorted(objects):
        offsets[idnum] = len(out)
        generation = root_ref.generation if idnum == root_ref.idnum else 0
        out += b"%d %d obj\n" % (idnum, generation) + objects[idnum] + b"\nendobj\n"
    start = len(out)
    out += b"xref\n"
    for idnum in sorted(offsets):  # one subsection per object keeps it simple and valid
        generation = root_ref.generation if idnum == root_ref.idnum else 0
        out += b"%d 1\n%010d %05d n \n" % (idnum, offsets[idnum], generation)
    trailer = DictionaryObject(
        {
            NameObject("/Size"): NumberObject(number),
            NameObject("/Root"): root_ref,
            NameObject("/Prev"): NumberObject(previous),
        }
    )
    for entry in ("/Info", "/ID"):
        value = reader.trailer.raw_get(entry) if entry in reader.trailer else None
        if value is not None:
            trailer[NameObject(entry)] = value
    out += b"trailer\n" + _serialize(trailer) + b"\nstartxref\n%d\n%%%%EOF\n" % start
    return bytes(out)


def _serialize(obj: Any) -> bytes:
    buffer = BytesIO()
    obj.write_to_stream(buffer)
    return buffer.getvalue()


def _spec_object(add: Any, file: _EmbeddedFile, stamp: str | None) -> IndirectObject:
    stream, spec = _file_objects(file, stamp)
    stream_ref = add(stream)
    spec[NameObject("/EF")] = DictionaryObject({NameObject("/F"): stream_ref, NameObject("/UF"): stream_ref})
    ref: IndirectObject = add(spec)
    return ref


def _link(root: DictionaryObject, new: list[tuple[str, Any]], add: Any) -> None:
    """Point the catalog at the new files: a flat, sorted /EmbeddedFiles name tree holding the
    old files and the new ones, and /AF listing them too (old entries are kept as they were)."""
    entries: dict[str, Any] = {}
    old_names = c.get(root, "/Names")
    tree = c.get(old_names, "/EmbeddedFiles")
    if tree is not None:
        for key, raw in c.Finder().name_tree(tree):
            entries.setdefault(key, raw)
    entries.update(new)
    flat = ArrayObject()
    for key in sorted(entries):
        flat.extend([TextStringObject(key), entries[key]])
    names = (
        DictionaryObject(dict(old_names.items()))
        if isinstance(old_names, DictionaryObject)
        else DictionaryObject()
    )
    names[NameObject("/EmbeddedFiles")] = DictionaryObject({NameObject("/Names"): flat})
    root[NameObject("/Names")] = names
    af = c.get(root, "/AF")
    associated = ArrayObject(list(af) if isinstance(af, ArrayObject) else [])
    associated.extend(spec for _, spec in new)
    root[NameObject("/AF")] = add(associated)


def _level(name: str) -> Any:
    try:
        return level(name)
    except ValueError as exc:
        raise SerializeError(str(exc)) from None


def guideline_of(root: etree._Element) -> str | None:
    """BT-24, the specification identifier, of a parsed CII invoice."""
    found = root.find(
        f"{{{RSM}}}ExchangedDocumentContext/{{{RAM}}}GuidelineSpecifiedDocumentContextParameter/{{{RAM}}}ID"
    )
    return (found.text or "").strip() if found is not None else None


def _check_xml(xml: bytes, wanted: str) -> None:
    """The XML must be a CII invoice whose guideline id (BT-24) declares the level embedded."""
    if not isinstance(xml, bytes) or not xml.strip():
        raise SerializeError("the invoice XML to embed is empty")
    if len(xml) > c.MAX_EMBEDDED_BYTES:
        raise SerializeError(f"the invoice XML is {len(xml)} bytes; the limit is {c.MAX_EMBEDDED_BYTES}")
    try:
        root = parse_xml(xml)
    except ParseError as exc:
        raise SerializeError(f"the invoice XML to embed is not well-formed: {exc}") from None
    qname = etree.QName(root)
    if qname.namespace == ZUGFERD1_NS:
        raise SerializeError("the XML is ZUGFeRD 1.0; only Factur-X / ZUGFeRD 2 (CII D16B) can be embedded")
    if (qname.namespace, qname.localname) != c.CII_ROOT:
        raise SerializeError(
            f"the XML to embed is not a CII invoice (root {qname.localname} in "
            f"{qname.namespace or 'no namespace'})"
        )
    guideline = guideline_of(root)
    if not guideline:
        raise SerializeError(
            "the CII XML has no guideline id (BT-24, rsm:ExchangedDocumentContext/"
            "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID); its level cannot be checked"
        )
    declared = level_for_guideline(guideline)
    if declared is None or not agrees(wanted, declared):
        raise SerializeError(
            f"the XML's guideline id {guideline!r} declares "
            f"{declared or 'no Factur-X level'}, but the level to embed is {wanted}"
        )


def _check_attachments(extras: list[AttachedFile], invoice_name: str) -> None:
    names: set[str] = {invoice_name.lower()}
    for extra in extras:
        if not extra.name or extra.name.lower() in names or extra.name.lower() in c.INVOICE_NAMES:
            raise SerializeError(
                f"attachment name {extra.name!r} is empty, repeated or reserved for the invoice"
            )
        names.add(extra.name.lower())
        if len(extra.data) > MAX_ATTACHMENT_BYTES:
            raise SerializeError(
                f"attachment {extra.name} is {len(extra.data)} bytes; the limit is {MAX_ATTACHMENT_BYTES}"
            )
        if extra.relationship not in ("Source", "Data", "Alternative", "Supplement", "Unspecified"):
            raise SerializeError(
                f"attachment {extra.name}: /AFRelationship {extra.relationship!r} is not PDF/A-3"
            )
        if "/" not in extra.mime_type or " " in extra.mime_type:
            raise SerializeError(f"attachment {extra.name}: {extra.mime_type!r} is not a MIME type")


def _pdf_date(value: date | datetime) -> str:
    moment = value if isinstance(value, datetime) else datetime.combine(value, time(0), UTC)
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("D:%Y%m%d%H%M%S+00'00'")


def _file_objects(file: _EmbeddedFile, stamp: str | None) -> tuple[Any, DictionaryObject]:
    """The compressed embedded-file stream and its file specification (without /EF yet)."""
    params = DictionaryObject(
        {
            NameObject("/Size"): NumberObject(len(file.data)),
            NameObject("/CheckSum"): ByteStringObject(hashlib.md5(file.data).digest()),  # noqa: S324 (PDF wants MD5)
        }
    )
    if stamp is not None:
        params[NameObject("/ModDate")] = TextStringObject(stamp)
    stream = DecodedStreamObject()
    stream.set_data(file.data)
    packed = stream.flate_encode()
    packed[NameObject("/Type")] = NameObject("/EmbeddedFile")
    packed[NameObject("/Subtype")] = NameObject("/" + file.mime)
    packed[NameObject("/Params")] = params
    spec = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Filespec"),
            NameObject("/F"): TextStringObject(file.name),
            NameObject("/UF"): TextStringObject(file.name),
            NameObject("/AFRelationship"): NameObject(file.relationship),
        }
    )
    if file.description:
        spec[NameObject("/Desc")] = TextStringObject(file.description)
    return packed, spec


def _attach(writer: PdfWriter, files: list[_EmbeddedFile], stamp: str | None) -> None:
    """The same objects as ``_incremental``, added to a rewritten copy of the whole file."""
    new = [(f.name, _spec_object(writer._add_object, f, stamp)) for f in files]
    _link(writer.root_object, new, writer._add_object)


def _xmp_packet(catalog: Any, namespace: str, file_name: str, version: str, xmp_level: str) -> bytes:
    """The PDF's XMP with pdfaid:part 3 and the Factur-X/ZUGFeRD properties and extension schema
    (replacing any earlier ones); every other property of the renderer is kept as it was."""
    stream = c.get(catalog, "/Metadata")
    root = etree.fromstring(stream.get_data().strip(b"\x00 \t\r\n"), c.xml_parser())
    rdf = root if etree.QName(root) == etree.QName(c.RDF, "RDF") else root.find(f".//{{{c.RDF}}}RDF")
    if rdf is None:
        raise c.PdfInputError("the PDF's XMP metadata has no rdf:RDF element")
    for desc in list(rdf.findall(f"{{{c.RDF}}}Description")):
        for attr in list(desc.attrib):
            if etree.QName(attr).namespace in c.FX_NAMESPACES:
                del desc.attrib[attr]
        for child in list(desc):
            if isinstance(child.tag, str) and etree.QName(child).namespace in c.FX_NAMESPACES:
                desc.remove(child)
        part = desc.find(f"{{{c.PDFAID}}}part")
        if part is not None:
            part.text = "3"
        if desc.get(f"{{{c.PDFAID}}}part") is not None:
            desc.set(f"{{{c.PDFAID}}}part", "3")
        for schema_li in list(desc.iterfind(f"{{{c.PDFA_EXTENSION}}}schemas/{{{c.RDF}}}Bag/{{{c.RDF}}}li")):
            uri = schema_li.findtext(f"{{{c.PDFA_SCHEMA}}}namespaceURI") or schema_li.get(
                f"{{{c.PDFA_SCHEMA}}}namespaceURI"
            )
            if (uri or "").strip() in c.FX_NAMESPACES:
                schema_li.getparent().remove(schema_li)
        if len(desc) == 0 and all(etree.QName(a).namespace == c.RDF for a in desc.attrib):
            rdf.remove(desc)
    rdf.append(_extension_description(namespace))
    fx = etree.SubElement(rdf, f"{{{c.RDF}}}Description", {f"{{{c.RDF}}}about": ""}, nsmap={"fx": namespace})
    for prop, value in (
        ("DocumentType", "INVOICE"),
        ("DocumentFileName", file_name),
        ("Version", version),
        ("ConformanceLevel", xmp_level),
    ):
        etree.SubElement(fx, f"{{{namespace}}}{prop}").text = value
    if etree.QName(root) != etree.QName(_X, "xmpmeta"):
        wrapper = etree.Element(f"{{{_X}}}xmpmeta", nsmap={"x": _X})
        wrapper.append(rdf)
        root = wrapper
    body = etree.tostring(root, encoding="utf-8")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'.encode()
        + body
        + b'\n<?xpacket end="w"?>'
    )


def _extension_description(namespace: str) -> etree._Element:
    nsmap = {"pdfaExtension": c.PDFA_EXTENSION, "pdfaSchema": c.PDFA_SCHEMA, "pdfaProperty": c.PDFA_PROPERTY}
    desc = etree.Element(f"{{{c.RDF}}}Description", {f"{{{c.RDF}}}about": ""}, nsmap=nsmap)
    bag = etree.SubElement(etree.SubElement(desc, f"{{{c.PDFA_EXTENSION}}}schemas"), f"{{{c.RDF}}}Bag")
    li = etree.SubElement(bag, f"{{{c.RDF}}}li", {f"{{{c.RDF}}}parseType": "Resource"})
    etree.SubElement(li, f"{{{c.PDFA_SCHEMA}}}schema").text = "Factur-X PDFA Extension Schema"
    etree.SubElement(li, f"{{{c.PDFA_SCHEMA}}}namespaceURI").text = namespace
    etree.SubElement(li, f"{{{c.PDFA_SCHEMA}}}prefix").text = "fx"
    seq = etree.SubElement(etree.SubElement(li, f"{{{c.PDFA_SCHEMA}}}property"), f"{{{c.RDF}}}Seq")
    for prop, text in _FX_PROPERTY_DESCRIPTIONS:
        item = etree.SubElement(seq, f"{{{c.RDF}}}li", {f"{{{c.RDF}}}parseType": "Resource"})
        etree.SubElement(item, f"{{{c.PDFA_PROPERTY}}}name").text = prop
        etree.SubElement(item, f"{{{c.PDFA_PROPERTY}}}valueType").text = "Text"
        etree.SubElement(item, f"{{{c.PDFA_PROPERTY}}}category").text = "external"
        etree.SubElement(item, f"{{{c.PDFA_PROPERTY}}}description").text = text
    return desc


def _replace_metadata(writer: PdfWriter, packet: bytes) -> None:
    stream = DecodedStreamObject()
    stream.set_data(packet)  # uncompressed: PDF/A readers and signers expect to find it as text
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    writer.root_object[NameObject("/Metadata")] = writer._add_object(stream)


__all__ = ["AttachedFile", "InvoiceInputError", "embed", "guideline_of"]
