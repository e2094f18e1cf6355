"""schemas.pdf: Factur-X/ZUGFeRD extraction and the structural PDF/A-3 checks.

Synthetic PDFs are built here with pypdf, in memory; the real ones come from the shared corpus
(``../shared/corpus/facturx``, listed in ``facturx-index.csv``) and are skipped without it.
"""

from __future__ import annotations

import csv
import random
import time
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from schemas.pdf import MAX_EMBEDDED_BYTES, MAX_OBJECTS, MAX_PDF_BYTES, PdfCheck, PdfInputError, check_pdf
from schemas.report import Level
from schemas.xmlsafe import parse_xml

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpus"
INDEX = CORPUS / "facturx-index.csv"
MISSING = f"the shared corpus is not there ({CORPUS}): the Factur-X PDF corpus tests need it"
AKRETION = "facturx/akretion/tests/fixtures/pdf/invoice_EN16931.pdf"
SECONDS = 5.0  # every input, however hostile, is answered within this

CII = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
    b'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">'
    b"<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
    b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
    b"</rsm:ExchangedDocumentContext></rsm:CrossIndustryInvoice>\n"
)
FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FERD = "urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#"
EXTENSION = """<rdf:Description rdf:about=""
    xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
    xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
  <pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
    <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
    <pdfaSchema:namespaceURI>{ns}</pdfaSchema:namespaceURI>
    <pdfaSchema:prefix>fx</pdfaSchema:prefix>
    <pdfaSchema:property><rdf:Seq>
      <rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentFileName</pdfaProperty:name></rdf:li>
      <rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentType</pdfaProperty:name></rdf:li>
      <rdf:li rdf:parseType="Resource"><pdfaProperty:name>Version</pdfaProperty:name></rdf:li>
      <rdf:li rdf:parseType="Resource"><pdfaProperty:name>ConformanceLevel</pdfaProperty:name></rdf:li>
    </rdf:Seq></pdfaSchema:property>
  </rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>"""


def xmp(
    *,
    part: str | None = "3",
    conformance: str | None = "B",
    ns: str = FX,
    doc_type: str | None = "INVOICE",
    file_name: str | None = "factur-x.xml",
    version: str | None = "1.0",
    level: str | None = "EN 16931",
    extension: bool = True,
    attributes: bool = False,
    fx: bool = True,
    prolog: str = "",
) -> bytes:
    """An XMP packet with the PDF/A identification and the Factur-X properties (None: left out)."""
    pdfaid = "".join(
        f"<pdfaid:{k}>{v}</pdfaid:{k}>" for k, v in (("part", part), ("conformance", conformance)) if v
    )
    props = {"DocumentType": doc_type, "DocumentFileName": file_name, "Version": version}
    props["ConformanceLevel"] = level
    if attributes:
        attrs = " ".join(f'fx:{k}="{v}"' for k, v in props.items() if v is not None)
        fx_desc = f'<rdf:Description rdf:about="" xmlns:fx="{ns}" {attrs}/>'
    else:
        body = "".join(f"<fx:{k}>{v}</fx:{k}>" for k, v in props.items() if v is not None)
        fx_desc = f'<rdf:Description rdf:about="" xmlns:fx="{ns}">{body}</rdf:Description>'
    text = (
        f'{prolog}<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">{pdfaid}</rdf:Description>'
        + (fx_desc if fx else "")
        + (EXTENSION.format(ns=ns) if extension else "")
        + '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def stream(data: bytes, **entries: Any) -> DecodedStreamObject:
    obj = DecodedStreamObject()
    obj.set_data(data)
    for key, value in entries.items():
        obj[NameObject(f"/{key}")] = value
    return obj


def name(value: str) -> NameObject:
    return NameObject(value)


def make_pdf(
    *,
    files: list[tuple[str, bytes]] | None = None,
    metadata: bytes | None = None,
    relationship: str | None = "/Alternative",
    subtype: str | None = "/text/xml",
    catalog_af: bool = True,
    in_name_tree: bool = True,
    kids: bool = False,
    output_intent: str = "full",
    fonts: dict[str, DictionaryObject] | None = None,
    form_fonts: dict[str, DictionaryObject] | None = None,
    default_rgb: bool = False,
    open_action: DictionaryObject | None = None,
    annotation_action: DictionaryObject | None = None,
    file_id: bool = True,
    encrypt: bool = False,
    mutate: Any = None,
) -> bytes:
    """A small PDF built to order; by default a structurally clean Factur-X EN 16931 file."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    resources = DictionaryObject()
    if fonts:
        resources[name("/Font")] = DictionaryObject(
            {name(k): writer._add_object(v) for k, v in fonts.items()}
        )
    if form_fonts:
        form = stream(b"", Type=name("/XObject"), Subtype=name("/Form"))
        form[name("/BBox")] = ArrayObject(
            [NumberObject(0), NumberObject(0), NumberObject(10), NumberObject(10)]
        )
        inner = DictionaryObject({name(k): writer._add_object(v) for k, v in form_fonts.items()})
        form[name("/Resources")] = DictionaryObject({name("/Font"): inner})
        resources[name("/XObject")] = DictionaryObject({name("/Fm1"): writer._add_object(form)})
    if default_rgb:
        icc = writer._add_object(stream(b"\0" * 128, N=NumberObject(3)))
        resources[name("/ColorSpace")] = DictionaryObject(
            {name("/DefaultRGB"): ArrayObject([name("/ICCBased"), icc])}
        )
    page[name("/Resources")] = resources
    if annotation_action is not None:
        annot = DictionaryObject(
            {
                name("/Type"): name("/Annot"),
                name("/Subtype"): name("/Link"),
                name("/Rect"): ArrayObject(
                    [NumberObject(0), NumberObject(0), NumberObject(9), NumberObject(9)]
                ),
                name("/A"): annotation_action,
            }
        )
        page[name("/Annots")] = ArrayObject([writer._add_object(annot)])

    catalog = writer.root_object
    specs = []
    for file_name, data in [("factur-x.xml", CII)] if files is None else files:
        embedded = stream(data, Type=name("/EmbeddedFile"))
        if subtype:
            embedded[name("/Subtype")] = name(subtype)
        embedded[name("/Params")] = DictionaryObject({name("/Size"): NumberObject(len(data))})
        ref = writer._add_object(embedded)
        spec = DictionaryObject(
            {
                name("/Type"): name("/Filespec"),
                name("/F"): TextStringObject(file_name),
                name("/UF"): TextStringObject(file_name),
                name("/EF"): DictionaryObject({name("/F"): ref, name("/UF"): ref}),
            }
        )
        if relationship:
            spec[name("/AFRelationship")] = name(relationship)
        specs.append((file_name, writer._add_object(spec)))
    if specs and in_name_tree:
        entries = ArrayObject()
        for file_name, ref in specs:
            entries.extend([TextStringObject(file_name), ref])
        leaf = DictionaryObject({name("/Names"): entries})
        tree = DictionaryObject({name("/Kids"): ArrayObject([writer._add_object(leaf)])}) if kids else leaf
        catalog[name("/Names")] = DictionaryObject({name("/EmbeddedFiles"): tree})
    if specs and catalog_af:
        catalog[name("/AF")] = ArrayObject([ref for _, ref in specs])
    meta = xmp() if metadata is None else metadata
    if meta:
        catalog[name("/Metadata")] = writer._add_object(
            stream(meta, Type=name("/Metadata"), Subtype=name("/XML"))
        )
    if output_intent != "none":
        intent = DictionaryObject(
            {
                name("/Type"): name("/OutputIntent"),
                name("/S"): name("/GTS_PDFA1"),
                name("/OutputConditionIdentifier"): TextStringObject("sRGB"),
            }
        )
        if output_intent == "full":
            intent[name("/DestOutputProfile")] = writer._add_object(stream(b"\0" * 128, N=NumberObject(3)))
        catalog[name("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    if open_action is not None:
        catalog[name("/OpenAction")] = open_action
    if mutate is not None:
        mutate(writer, catalog)
    if file_id:
        writer.generate_file_identifiers()
    if encrypt:
        writer.encrypt("", "owner", algorithm="RC4-128")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def embedded_font(base: str = "DejaVuSans") -> DictionaryObject:
    descriptor = DictionaryObject(
        {
            name("/Type"): name("/FontDescriptor"),
            name("/FontName"): name(f"/{base}"),
            name("/FontFile2"): stream(b"\0\1\0\0"),
        }
    )
    return DictionaryObject(
        {
            name("/Type"): name("/Font"),
            name("/Subtype"): name("/TrueType"),
            name("/BaseFont"): name(f"/{base}"),
            name("/FontDescriptor"): descriptor,
        }
    )


def standard_font(base: str = "Helvetica") -> DictionaryObject:
    return DictionaryObject(
        {name("/Type"): name("/Font"), name("/Subtype"): name("/Type1"), name("/BaseFont"): name(f"/{base}")}
    )


def run(data: bytes, **kwargs: Any) -> PdfCheck | PdfInputError:
    """check_pdf's answer: a PdfCheck or a PdfInputError, never anything else, and quickly."""
    started = time.perf_counter()
    try:
        result: PdfCheck | PdfInputError = check_pdf(data, **kwargs)
    except PdfInputError as exc:
        result = exc
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS, f"check_pdf took {elapsed:.1f} s"
    return result


def refused(data: bytes, **kwargs: Any) -> str:
    result = run(data, **kwargs)
    assert isinstance(result, PdfInputError), f"expected PdfInputError, got {result}"
    assert str(result), "the PdfInputError must say what is wrong"
    return str(result)


def checked(data: bytes) -> PdfCheck:
    result = run(data)
    assert isinstance(result, PdfCheck), f"expected a PdfCheck, got PdfInputError: {result}"
    return result


def ids(result: PdfCheck, level: Level | None = None) -> list[str]:
    return [i.id or "" for i in result.items if level is None or i.level is level]


# ---------------------------------------------------------------------------- synthetic: clean file


def test_clean_synthetic_factur_x_has_no_findings():
    result = checked(make_pdf(fonts={"/F1": embedded_font()}))
    assert result.xml == CII
    assert result.filename == "factur-x.xml"
    assert result.xmp_profile == "EN 16931"
    assert result.items == []
    assert result.duration_ms > 0


def test_module_docstring_says_it_is_not_verapdf():
    import schemas.pdf

    doc = schemas.pdf.__doc__ or ""
    assert "structural check, not a full veraPDF validation" in doc
    for item_id in ("PDFA-FONT-NOT-EMBEDDED", "PDFA-OUTPUTINTENT", "FX-AFRELATIONSHIP", "FX-AF-MISSING"):
        assert item_id in doc


# ---------------------------------------------------------------------------- bad input


def test_not_a_pdf():
    assert "not a PDF" in refused(b"not a pdf")


def test_zero_bytes():
    assert "empty" in refused(b"")


def test_too_large():
    data = make_pdf()
    assert "limit" in refused(data, max_bytes=len(data) - 1)
    assert MAX_PDF_BYTES == 100 * 1024 * 1024


def test_truncated_pdf():
    data = make_pdf()
    message = refused(data[: len(data) // 2])
    assert "damaged or truncated" in message or "no embedded" in message


def test_every_truncation_is_answered():
    data = make_pdf()
    for end in range(0, len(data), max(1, len(data) // 60)):
        run(data[:end])


def test_random_corruption_never_escapes():
    data = make_pdf(fonts={"/F1": standard_font()})
    rng = random.Random(20251121)
    for _ in range(300):
        corrupt = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        run(bytes(corrupt))


def test_encrypted_pdf():
    assert "encrypted" in refused(make_pdf(encrypt=True))


def test_pdf_without_attachment():
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    out = BytesIO()
    writer.write(out)
    assert "no embedded files" in refused(out.getvalue())


def test_attachment_that_is_not_an_invoice():
    message = refused(make_pdf(files=[("notes.xml", b"<notes/>"), ("logo.png", b"\x89PNG")]))
    assert "no invoice XML" in message
    assert "notes.xml" in message


def test_javascript_only_pdf_is_refused_for_lack_of_invoice():
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.root_object[name("/OpenAction")] = DictionaryObject(
        {name("/S"): name("/JavaScript"), name("/JS"): TextStringObject("app.alert(1)")}
    )
    out = BytesIO()
    writer.write(out)
    assert "no embedded files" in refused(out.getvalue())


def test_huge_declared_object_count_in_trailer():
    data = make_pdf()
    marker = b"/Size "
    at = data.rindex(marker)
    end = at + len(marker)
    while data[end : end + 1].isdigit():
        end += 1
    message = refused(data[:at] + b"/Size 1000000000" + data[end:])
    assert "1000000000" in message


def test_huge_xref_section_is_refused_before_parsing():
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\n"
    data = (
        body + b"xref\n0 50000000\n0000000000 65535 f \ntrailer<</Root 1 0 R/Size 2>>\nstartxref\n0\n%%EOF\n"
    )
    assert "50000000" in refused(data)


def test_too_many_objects_is_refused():
    data = b"%PDF-1.4\n" + b"1 0 obj 0 endobj\n" * (MAX_OBJECTS + 1) + b"%%EOF\n"
    assert str(MAX_OBJECTS) in refused(data)


def test_huge_declared_stream_length_is_answered():
    data = make_pdf()
    at = data.index(b"/Length ")
    end = data.index(b"\n", at)
    result = run(data[:at] + b"/Length 999999999999" + data[end:])
    assert isinstance(result, PdfCheck | PdfInputError)


def test_embedded_file_declaring_a_huge_size():
    def declare(writer: PdfWriter, catalog: DictionaryObject) -> None:
        spec = catalog["/AF"][0].get_object()
        spec["/EF"]["/F"].get_object()[name("/Params")] = DictionaryObject(
            {name("/Size"): NumberObject(10**12)}
        )

    assert "embedded XML factur-x.xml" in refused(make_pdf(mutate=declare))


def test_compression_bomb_in_the_embedded_file():
    bomb = zlib.compress(b" " * (MAX_EMBEDDED_BYTES + 1024), 9)

    def compress(writer: PdfWriter, catalog: DictionaryObject) -> None:
        spec = catalog["/AF"][0].get_object()
        ref = spec["/EF"].raw_get("/F")
        packed = StreamObject()
        packed._data = bomb
        packed[name("/Filter")] = name("/FlateDecode")
        packed[name("/Type")] = name("/EmbeddedFile")
        packed[name("/Subtype")] = name("/text/xml")
        writer._objects[ref.idnum - 1] = packed

    message = refused(make_pdf(mutate=compress))
    assert "limit" in message
    assert str(MAX_EMBEDDED_BYTES) in message


def raw_pdf(*objects: bytes) -> bytes:
    """A PDF written by hand (object 1 is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R/ID[<00><00>]>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        start,
    )
    return bytes(out)


PAGES = b"<</Type/Pages/Kids[]/Count 0>>"


def test_hand_written_pdf_helper_is_readable():
    assert "no embedded files" in refused(raw_pdf(b"<</Type/Catalog/Pages 2 0 R>>", PAGES))


def test_deeply_nested_arrays():
    nested = b"[" * 100_000 + b"]" * 100_000
    refused(raw_pdf(b"<</Type/Catalog/Pages 2 0 R/AF " + nested + b">>", PAGES))


@pytest.mark.parametrize("entries", [30_000, 60_000])
def test_huge_name_tree(entries):
    names = b"".join(b"(f%d.txt) 3 0 R " % i for i in range(entries))
    catalog = b"<</Type/Catalog/Pages 2 0 R/Names<</EmbeddedFiles<</Names[" + names + b"]>>>>>>"
    refused(raw_pdf(catalog, PAGES, b"<</Type/Filespec/F(x.txt)/UF(x.txt)>>"))


def _invoice_objects(catalog_extra: bytes, pages: bytes) -> list[bytes]:
    """Objects 1-4 of a hand-written PDF: catalog, page tree, the invoice's file spec and stream."""
    return [
        b"<</Type/Catalog/Pages 2 0 R/AF[3 0 R]" + catalog_extra + b">>",
        pages,
        b"<</Type/Filespec/F(factur-x.xml)/UF(factur-x.xml)/AFRelationship/Alternative/EF<</F 4 0 R>>>>",
        b"<</Type/EmbeddedFile/Subtype/text#2Fxml/Length %d>>stream\n%s\nendstream" % (len(CII), CII),
    ]


def test_thousands_of_attachments_are_bounded():
    count = 5_000
    entries = b"".join(b"(f%d.xml) %d 0 R " % (i, i + 5) for i in range(count))
    objects = _invoice_objects(
        b"/Names<</EmbeddedFiles<</Names[(factur-x.xml) 3 0 R " + entries + b"]>>>>", PAGES
    )
    objects.append(b"<<>>")
    objects += [b"<</Type/Filespec/F(f%d.xml)/UF(f%d.xml)/EF<</F 4 0 R>>>>" % (i, i) for i in range(count)]
    result = run(raw_pdf(*objects))
    assert isinstance(result, PdfCheck)
    assert result.filename == "factur-x.xml"
    assert "PDFA-LIMIT" in ids(result, Level.WARNING)


def test_many_compression_bombs_under_a_non_standard_name():
    count = 40
    bomb = zlib.compress(b" " * (MAX_EMBEDDED_BYTES + 1024), 9)
    entries = b"".join(b"(evil.xml) %d 0 R " % (3 + 2 * i) for i in range(count))
    objects = [b"<</Type/Catalog/Pages 2 0 R/Names<</EmbeddedFiles<</Names[" + entries + b"]>>>>>>", PAGES]
    for i in range(count):
        objects.append(b"<</Type/Filespec/F(evil.xml)/UF(evil.xml)/EF<</F %d 0 R>>>>" % (4 + 2 * i))
        objects.append(b"<</Length %d/Filter/FlateDecode>>stream\n%s\nendstream" % (len(bomb), bomb))
    assert "no invoice XML" in refused(raw_pdf(*objects))


def test_findings_per_id_are_capped():
    count = 1_500  # more pages than are checked, each with its own unembedded font
    kids = b"".join(b"%d 0 R " % (5 + i) for i in range(count))
    objects = _invoice_objects(b"", b"<</Type/Pages/Kids[%s]/Count %d>>" % (kids, count))
    objects += [
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 9 9]/Resources<</Font<</F1 %d 0 R>>>>>>" % (5 + count + i)
        for i in range(count)
    ]
    objects += [b"<</Type/Font/Subtype/Type1/BaseFont/Font%d>>" % i for i in range(count)]
    result = run(raw_pdf(*objects))
    assert isinstance(result, PdfCheck)
    fonts = [i.message for i in result.items if i.id == "PDFA-FONT-NOT-EMBEDDED"]
    assert len(fonts) == 21
    assert fonts[0].startswith("Font0 is not embedded")
    assert fonts[-1] == "980 more PDFA-FONT-NOT-EMBEDDED findings are not listed"
    assert "only the first 1000 pages were checked" in [i.message for i in result.items]


def test_cyclic_name_tree_and_resources_terminate():
    def cycle(writer: PdfWriter, catalog: DictionaryObject) -> None:
        tree = catalog["/Names"]["/EmbeddedFiles"]
        kid = writer._add_object(DictionaryObject())
        kid.get_object()[name("/Kids")] = ArrayObject([kid])
        tree[name("/Kids")] = ArrayObject([kid, kid])
        page = writer.pages[0]
        form = stream(b"", Type=name("/XObject"), Subtype=name("/Form"))
        form_ref = writer._add_object(form)
        form[name("/Resources")] = DictionaryObject(
            {name("/XObject"): DictionaryObject({name("/Me"): form_ref})}
        )
        page[name("/Resources")][name("/XObject")] = DictionaryObject({name("/Fm"): form_ref})

    result = checked(make_pdf(mutate=cycle))
    assert result.filename == "factur-x.xml"


# ---------------------------------------------------------------------------- XMP


def test_pdfa_part_2_cannot_carry_the_invoice():
    result = checked(make_pdf(metadata=xmp(part="2")))
    assert ids(result, Level.ERROR) == ["PDFA-ID-PART"]
    assert "PDF/A-2" in result.items[0].message


def test_missing_pdfaid_and_bad_conformance():
    result = checked(make_pdf(metadata=xmp(part=None, conformance="X")))
    assert ids(result, Level.ERROR) == ["PDFA-ID-PART", "PDFA-ID-CONFORMANCE"]


def test_missing_xmp():
    result = checked(make_pdf(metadata=b""))
    assert ids(result) == ["PDFA-XMP-MISSING"]
    assert result.xmp_profile is None


def test_unparseable_xmp():
    result = checked(make_pdf(metadata=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>& broken"))
    assert ids(result) == ["PDFA-XMP-INVALID"]
    assert result.xmp_profile is None


def test_xmp_with_a_doctype_is_refused_and_nothing_is_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    prolog = f'<!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]>'
    packet = xmp(level="&e;", prolog=prolog)
    result = checked(make_pdf(metadata=packet))
    assert ids(result) == ["PDFA-XMP-INVALID"]
    assert "DOCTYPE" in result.items[0].message
    assert result.xmp_profile is None
    assert "TOP-SECRET" not in repr(result)


def test_xmp_metadata_dictionary_needs_type_and_subtype():
    def retype(writer: PdfWriter, catalog: DictionaryObject) -> None:
        del catalog["/Metadata"].get_object()["/Type"]

    assert ids(checked(make_pdf(mutate=retype))) == ["PDFA-XMP-DICT"]


def test_factur_x_properties_in_attribute_form():
    result = checked(make_pdf(metadata=xmp(attributes=True, level="BASIC WL"), relationship="/Data"))
    assert result.xmp_profile == "BASIC WL"
    assert result.items == []


def test_zugferd_1_namespace():
    result = checked(
        make_pdf(
            files=[("ZUGFeRD-invoice.xml", CII)],
            metadata=xmp(ns=FERD, file_name="ZUGFeRD-invoice.xml", level="COMFORT"),
        )
    )
    assert (result.filename, result.xmp_profile) == ("ZUGFeRD-invoice.xml", "COMFORT")
    assert result.items == []


def test_no_factur_x_properties():
    result = checked(make_pdf(metadata=xmp(fx=False, extension=False)))
    assert ids(result) == ["FX-XMP-SCHEMA"]
    assert result.xmp_profile is None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"doc_type": "ORDER"}, "FX-XMP-DOCTYPE"),
        ({"doc_type": None}, "FX-XMP-DOCTYPE"),
        ({"file_name": "zugferd-invoice.xml"}, "FX-XMP-FILENAME"),
        ({"file_name": None}, "FX-XMP-FILENAME"),
        ({"version": None}, "FX-XMP-VERSION"),
        ({"level": None}, "FX-XMP-LEVEL"),
    ],
)
def test_factur_x_xmp_properties(options, expected):
    result = checked(make_pdf(metadata=xmp(**options)))
    assert ids(result) == [expected]
    assert result.items[0].level is Level.ERROR


def test_missing_extension_schema_is_a_warning():
    result = checked(make_pdf(metadata=xmp(extension=False)))
    assert ids(result, Level.WARNING) == ["FX-XMP-EXTENSION"]
    assert ids(result, Level.ERROR) == []


# ---------------------------------------------------------------------------- output intent and fonts


def test_missing_output_intent():
    result = checked(make_pdf(output_intent="none"))
    assert ids(result) == ["PDFA-OUTPUTINTENT"]
    assert result.items[0].level is Level.ERROR


def test_output_intent_without_profile():
    result = checked(make_pdf(output_intent="no-profile"))
    assert ids(result) == ["PDFA-OUTPUTINTENT"]
    assert "DestOutputProfile" in result.items[0].message


def test_default_colour_spaces_without_output_intent_is_a_warning():
    result = checked(make_pdf(output_intent="none", default_rgb=True))
    assert ids(result) == ["PDFA-OUTPUTINTENT-DEFAULTCS"]
    assert result.items[0].level is Level.WARNING


def test_unembedded_font_is_named():
    result = checked(make_pdf(fonts={"/F1": embedded_font(), "/F2": standard_font("Helvetica")}))
    assert ids(result) == ["PDFA-FONT-NOT-EMBEDDED"]
    assert result.items[0].level is Level.ERROR
    assert result.items[0].message.startswith("Helvetica is not embedded")
    assert "page 1" in result.items[0].message


def test_unembedded_font_inside_a_form_xobject():
    result = checked(make_pdf(form_fonts={"/F9": standard_font("Courier-Bold")}))
    assert ids(result) == ["PDFA-FONT-NOT-EMBEDDED"]
    assert "Courier-Bold is not embedded" in result.items[0].message
    assert "form XObject" in result.items[0].message


def test_type3_fonts_need_no_font_file_but_composite_fonts_do():
    type3 = DictionaryObject({name("/Type"): name("/Font"), name("/Subtype"): name("/Type3")})
    descendant = DictionaryObject(
        {
            name("/Type"): name("/Font"),
            name("/Subtype"): name("/CIDFontType2"),
            name("/BaseFont"): name("/ArialUnicode"),
            name("/FontDescriptor"): DictionaryObject({name("/FontName"): name("/ArialUnicode")}),
        }
    )
    type0 = DictionaryObject(
        {
            name("/Type"): name("/Font"),
            name("/Subtype"): name("/Type0"),
            name("/BaseFont"): name("/ArialUnicode"),
            name("/DescendantFonts"): ArrayObject([descendant]),
        }
    )
    result = checked(make_pdf(fonts={"/T3": type3, "/C0": type0}))
    assert ids(result) == ["PDFA-FONT-NOT-EMBEDDED"]
    assert "ArialUnicode is not embedded" in result.items[0].message


# ---------------------------------------------------------------------------- actions


def test_javascript_open_action():
    action = DictionaryObject(
        {name("/S"): name("/JavaScript"), name("/JS"): TextStringObject("app.alert(1)")}
    )
    result = checked(make_pdf(open_action=action))
    assert ids(result) == ["PDFA-JAVASCRIPT"]
    assert "/OpenAction" in result.items[0].message


def test_document_level_javascript():
    def add_js(writer: PdfWriter, catalog: DictionaryObject) -> None:
        action = writer._add_object(
            DictionaryObject({name("/S"): name("/JavaScript"), name("/JS"): TextStringObject("x")})
        )
        catalog["/Names"][name("/JavaScript")] = DictionaryObject(
            {name("/Names"): ArrayObject([TextStringObject("js"), action])}
        )

    result = checked(make_pdf(mutate=add_js))
    assert ids(result) == ["PDFA-JAVASCRIPT"]
    assert "/Names /JavaScript" in result.items[0].message


def test_javascript_hidden_in_a_next_chain_and_launch_action():
    hidden = DictionaryObject({name("/S"): name("/JavaScript"), name("/JS"): TextStringObject("x")})
    launch = DictionaryObject(
        {name("/S"): name("/Launch"), name("/F"): TextStringObject("calc.exe"), name("/Next"): hidden}
    )
    result = checked(make_pdf(annotation_action=launch))
    assert sorted(ids(result)) == ["PDFA-ACTION", "PDFA-JAVASCRIPT"]


def test_catalog_additional_actions_are_forbidden():
    def add_aa(writer: PdfWriter, catalog: DictionaryObject) -> None:
        catalog[name("/AA")] = DictionaryObject(
            {
                name("/WC"): DictionaryObject(
                    {name("/S"): name("/JavaScript"), name("/JS"): TextStringObject("x")}
                )
            }
        )

    result = checked(make_pdf(mutate=add_aa))
    assert sorted(ids(result)) == ["PDFA-ACTION", "PDFA-JAVASCRIPT"]


def test_pypdf_open_action_javascript():
    actions = pytest.importorskip("pypdf.actions")

    def add(writer: PdfWriter, catalog: DictionaryObject) -> None:
        writer.add_open_action(actions.JavaScript("app.alert('x');"))

    result = checked(make_pdf(mutate=add))
    assert "PDFA-JAVASCRIPT" in ids(result, Level.ERROR)


# ---------------------------------------------------------------------------- the embedded file


def test_missing_af_relationship():
    result = checked(make_pdf(relationship=None))
    assert ids(result) == ["FX-AFRELATIONSHIP"]


def test_unspecified_af_relationship():
    result = checked(make_pdf(relationship="/Unspecified"))
    assert ids(result) == ["FX-AFRELATIONSHIP"]
    assert "/Unspecified" in result.items[0].message


@pytest.mark.parametrize(
    ("level", "relationship", "warned"),
    [
        ("EN 16931", "/Alternative", False),
        ("EN 16931", "/Source", True),
        ("EN 16931", "/Data", True),
        ("MINIMUM", "/Data", False),
        ("BASIC WL", "/Alternative", True),
    ],
)
def test_af_relationship_recommended_for_the_profile(level, relationship, warned):
    result = checked(make_pdf(metadata=xmp(level=level), relationship=relationship))
    assert ids(result) == (["FX-AFRELATIONSHIP-PROFILE"] if warned else [])
    assert all(i.level is Level.WARNING for i in result.items)


def test_missing_mime_type():
    result = checked(make_pdf(subtype=None))
    assert ids(result) == ["FX-MIMETYPE"]


def test_application_xml_mime_type_is_accepted():
    assert checked(make_pdf(subtype="/application/xml")).items == []


def test_missing_catalog_af():
    result = checked(make_pdf(catalog_af=False))
    assert ids(result) == ["FX-AF-MISSING"]


def test_invoice_found_through_af_only():
    result = checked(make_pdf(in_name_tree=False))
    assert result.xml == CII
    assert result.items == []


def test_invoice_found_in_name_tree_kids():
    result = checked(make_pdf(kids=True))
    assert result.filename == "factur-x.xml"
    assert result.items == []


def test_invoice_under_a_non_standard_name_is_found_by_its_root():
    files = [("readme.xml", b"<readme/>"), ("rechnung.xml", CII)]
    result = checked(make_pdf(files=files, metadata=xmp(file_name="rechnung.xml")))
    assert result.filename == "rechnung.xml"
    assert ids(result) == ["FX-FILENAME"]
    assert result.items[0].level is Level.WARNING


def test_invoice_under_a_non_standard_name_without_xmp_hint():
    files = [("readme.xml", b"<readme/>"), ("invoice.xml", CII)]
    result = checked(make_pdf(files=files, metadata=xmp(file_name="invoice.xml")))
    assert result.filename == "invoice.xml"
    result = checked(make_pdf(files=files, metadata=xmp(fx=False, extension=False)))
    assert result.filename == "invoice.xml"
    assert ids(result) == ["FX-XMP-SCHEMA", "FX-FILENAME"]


def test_two_invoices_take_the_one_the_xmp_names():
    files = [("factur-x.xml", CII), ("zugferd-invoice.xml", CII.replace(b"2017", b"2017#x"))]
    result = checked(make_pdf(files=files, metadata=xmp(file_name="zugferd-invoice.xml")))
    assert result.filename == "zugferd-invoice.xml"
    assert b"2017#x" in result.xml
    assert ids(result) == ["FX-MULTIPLE-XML"]


def test_other_attachments_need_pdfa_entries():
    files = [("factur-x.xml", CII), ("delivery.pdf", b"%PDF-1.4 ...")]

    def strip(writer: PdfWriter, catalog: DictionaryObject) -> None:
        other = catalog["/AF"][1].get_object()
        del other["/AFRelationship"]

    result = checked(make_pdf(files=files, mutate=strip))
    assert ids(result) == ["PDFA-ATTACHMENT"]
    assert "delivery.pdf" in result.items[0].message


def test_missing_trailer_id():
    assert ids(checked(make_pdf(file_id=False))) == ["PDFA-TRAILER-ID"]


def test_header_must_be_at_byte_zero():
    result = checked(b"\n" + make_pdf())
    assert ids(result) == ["PDFA-HEADER"]


# ---------------------------------------------------------------------------- the corpus


def _index() -> list[dict[str, str]]:
    if not INDEX.is_file():
        return []
    with INDEX.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = _index()
CORPUS_ROWS = [pytest.param(row, id=Path(row["path"]).name) for row in ROWS] or [
    pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-corpus")
]
# fx:ConformanceLevel expected from the index's profile_group (read from the XML's guideline id).
XMP_LEVEL = {
    "MINIMUM": "MINIMUM",
    "BASIC WL": "BASIC WL",
    "BASIC": "BASIC",
    "EN16931": "EN 16931",
    "EXTENDED": "EXTENDED",
    "XRECHNUNG": "XRECHNUNG",
    "ZUGFeRD1-BASIC": "BASIC",
    "ZUGFeRD1-COMFORT": "COMFORT",
    "ZUGFeRD1-EXTENDED": "EXTENDED",
}
# Where the XMP says something else than the XML: this symtrax sample's XML is XRechnung 1.2
# (a CIUS of EN 16931) and its XMP declares the EN 16931 level.
XMP_LEVEL_EXCEPTIONS = {"zugferd_2p1_EN16931_Betriebskostenabrechnung_XRechnung_embedded.pdf": "EN 16931"}
# The ERROR items each corpus PDF gets (every other listed PDF gets none). These agree with the
# reasons the corpus gives: python-factur-x.pdf fails 6.1.2 header and 6.1.3 trailer ID, and the
# Mustang ZUGFeRD1and2 file embeds two invoices.
CORPUS_ERRORS = {
    "invalidXMP-ParseError.pdf": ["PDFA-XMP-INVALID", "FX-MULTIPLE-XML"],
    "MustangRE-20171118_506_ZUGFeRD1and2.pdf": ["FX-MULTIPLE-XML"],
    "python-factur-x.pdf": [
        "PDFA-HEADER-BINARY",
        "PDFA-TRAILER-ID",
        "PDFA-XMP-DICT",
        "PDFA-OUTPUTINTENT",
        "FX-AF-MISSING",
    ],
}


def _read(relative: str) -> bytes:
    return (CORPUS / relative).read_bytes()


@pytest.mark.conformance
@pytest.mark.parametrize("row", CORPUS_ROWS)
def test_corpus_pdf(row):
    data = _read(row["path"])
    file_name = Path(row["path"]).name
    observed = row["embedded_files_observed"]
    if observed.startswith("unreadable"):
        assert "damaged or truncated" in refused(data)
        return
    result = checked(data)
    assert result.filename in observed.split(";")
    assert b"CrossIndustry" in result.xml  # a CII or ZUGFeRD 1.0 document
    if row["pdfa_id_observed"] == "xmp-err":
        assert result.xmp_profile is None
        assert "PDFA-XMP-INVALID" in ids(result)
    else:
        expected = XMP_LEVEL_EXCEPTIONS.get(file_name, XMP_LEVEL[row["profile_group"]])
        assert result.xmp_profile == expected
        assert row["pdfa_id_observed"].startswith("3")
        assert not {"PDFA-ID-PART", "PDFA-ID-CONFORMANCE"} & set(ids(result))
    assert ids(result, Level.ERROR) == CORPUS_ERRORS.get(file_name, [])


@pytest.mark.conformance
@pytest.mark.skipif(not ROWS, reason=MISSING)
def test_correct_corpus_pdfs_have_no_structural_errors():
    correct = [row for row in ROWS if "/correct/" in row["path"]]
    assert len(correct) == 21
    for row in correct:
        assert ids(checked(_read(row["path"])), Level.ERROR) == [], row["path"]


@pytest.mark.conformance
@pytest.mark.skipif(not (CORPUS / AKRETION).is_file(), reason=MISSING)
def test_akretion_en16931():
    result = checked(_read(AKRETION))
    assert result.filename == "factur-x.xml"
    assert result.xmp_profile == "EN 16931"
    assert result.xml.startswith(b"\xef\xbb\xbf<?xml")  # kept as embedded, byte order mark included
    assert parse_xml(result.xml).getroot().tag.endswith("}CrossIndustryInvoice")
    assert ids(result, Level.ERROR) == []
    # It embeds factur-x.xml as /Source; Factur-X recommends /Alternative for EN 16931.
    assert ids(result) == ["FX-AFRELATIONSHIP-PROFILE"]


@pytest.mark.conformance
@pytest.mark.skipif(not (CORPUS / AKRETION).is_file(), reason=MISSING)
def test_truncated_corpus_pdf():
    data = _read(AKRETION)
    message = refused(data[: len(data) // 2])
    assert "damaged or truncated" in message or "no embedded" in message
