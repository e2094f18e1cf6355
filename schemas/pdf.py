"""Factur-X / ZUGFeRD PDFs: take out the embedded invoice XML and check the PDF/A-3 structure.

**This is a structural check, not a full veraPDF validation.** It reads the objects that
Factur-X and ZUGFeRD depend on (XMP metadata, output intent, fonts, actions, the embedded
file and its relationships) and reports what is missing or wrong there. It does not
render the pages, parse content streams, check colour spaces used in the content,
validate the XMP against its schemas property by property, or apply the ~150 other
PDF/A-3 rules. A PDF with no ERROR item here can still fail veraPDF; an ERROR item names a
PDF/A-3 or Factur-X/ZUGFeRD requirement the file does not meet as read here.

Unreadable input raises ``PdfInputError`` with a message saying what is wrong: not a PDF,
empty, truncated or corrupt, encrypted, too large (``MAX_PDF_BYTES``), too many objects
(``MAX_OBJECTS``), no embedded invoice XML, or an embedded XML over
``MAX_EMBEDDED_BYTES``. No other exception leaves ``check_pdf``: pypdf is pure Python and
raises many kinds of exception on hostile files, and all of them become
``PdfInputError``. Work is bounded: declared object counts and xref sections are checked
before pypdf parses anything, decompression is capped, and every walk through the object
graph (name trees, pages, resources, form XObjects, fields) is limited in depth, in nodes
visited and in time.

Reading the PDF (bounds, extraction of the invoice) is ``formats.facturx.container``, shared
with ``formats.facturx.extract``; this module adds the structural checks. The embedded
invoice is looked for in the catalog ``/Names /EmbeddedFiles`` name tree
(``/Kids`` included) and in the catalog ``/AF`` array. The file the XMP
``fx:DocumentFileName`` names is taken first, then the standard names (``factur-x.xml``,
``zugferd-invoice.xml`` / ``ZUGFeRD-invoice.xml``, ``xrechnung.xml``, ``order-x.xml``),
then any ``*.xml`` attachment whose root is a CII ``CrossIndustryInvoice``, a ZUGFeRD 1.0
``CrossIndustryDocument`` or a UBL ``Invoice``/``CreditNote``.

Item ids (stable; ``ERROR`` for a PDF/A-3 or Factur-X/ZUGFeRD requirement, ``WARNING`` for
a recommendation, or where this check cannot be sure or stopped at a bound). At most
``MAX_ITEMS_PER_ID`` items are listed per id, then one more says how many were left out.

PDF/A-3 (ISO 19005-3):

- ``PDFA-HEADER`` (ERROR): the file does not start at byte 0 with ``%PDF-1.n`` (n ≤ 7).
- ``PDFA-HEADER-BINARY`` (ERROR): the header line is not followed by a comment of at least
  four bytes above 127 (6.1.2).
- ``PDFA-TRAILER-ID`` (ERROR): the trailer has no ``/ID`` (6.1.3).
- ``PDFA-XMP-MISSING`` (ERROR): the catalog has no ``/Metadata`` XMP stream.
- ``PDFA-XMP-INVALID`` (ERROR): the XMP is not well-formed XML (or has a DOCTYPE, refused);
  the pdfaid and Factur-X properties could then not be checked.
- ``PDFA-XMP-DICT`` (ERROR): the metadata stream dictionary lacks ``/Type /Metadata`` or
  ``/Subtype /XML`` (6.6.2.1).
- ``PDFA-ID-PART`` (ERROR): ``pdfaid:part`` is missing or not 3 (a PDF/A-1 or PDF/A-2 file
  cannot carry the XML; ZUGFeRD 1.0 files are PDF/A-3 too).
- ``PDFA-ID-CONFORMANCE`` (ERROR): ``pdfaid:conformance`` is missing or not A, B or U.
- ``PDFA-OUTPUTINTENT`` (ERROR): no ``/OutputIntents`` entry with ``/S /GTS_PDFA1``, or one
  without a ``/DestOutputProfile``.
- ``PDFA-OUTPUTINTENT-DEFAULTCS`` (WARNING): no PDF/A output intent, but every page maps
  the device colour spaces through ``/DefaultRGB``/``/DefaultCMYK``/``/DefaultGray``. PDF/A
  allows that when no uncalibrated colour is used; only a content-level check (veraPDF) can
  confirm it.
- ``PDFA-FONT-NOT-EMBEDDED`` (ERROR): a font used by a page, a form XObject, a Type 3 font,
  a tiling pattern or an annotation appearance has no ``/FontFile``, ``/FontFile2`` or
  ``/FontFile3`` (Type 3 fonts need none). One item per font, e.g. "Helvetica is not
  embedded".
- ``PDFA-JAVASCRIPT`` (ERROR): document-level JavaScript (``/Names /JavaScript``) or a
  JavaScript action (``/S /JavaScript`` or ``/JS``) in ``/OpenAction``, an ``/AA`` entry,
  an annotation, a form field or a ``/Next`` chain.
- ``PDFA-ACTION`` (ERROR): an action type PDF/A forbids (Launch, Sound, Movie, ResetForm,
  ImportData, Hide, SetOCGState, Rendition, Trans, GoTo3DView), or an additional-actions
  (``/AA``) entry on the catalog, a page, a widget annotation or a form field.
- ``PDFA-FILESPEC`` (ERROR): the invoice's file specification lacks ``/F`` or ``/UF`` (6.8).
- ``PDFA-ATTACHMENT`` (ERROR): another embedded file lacks ``/F``/``/UF``,
  ``/AFRelationship`` or a MIME type (``/Subtype``) (6.8).
- ``PDFA-DAMAGED`` (ERROR): part of the structure could not be read, so one check could not
  run; the message names the check.
- ``PDFA-LIMIT`` (WARNING): a check stopped at a bound (pages, nesting depth, or objects
  visited per check); the part beyond it was not checked.

Factur-X / ZUGFeRD (XMP extension schema namespaces
``urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#``,
``urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#``,
``urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#``):

- ``FX-XMP-SCHEMA`` (ERROR): the XMP has no property in any of the three namespaces.
- ``FX-XMP-DOCTYPE`` (ERROR): ``fx:DocumentType`` is missing or not ``INVOICE`` (``ORDER``
  for ``order-x.xml``).
- ``FX-XMP-FILENAME`` (ERROR): ``fx:DocumentFileName`` is missing or is not the name of the
  embedded invoice file.
- ``FX-XMP-VERSION`` (ERROR): ``fx:Version`` is missing.
- ``FX-XMP-LEVEL`` (ERROR): ``fx:ConformanceLevel`` is missing (``PdfCheck.xmp_profile`` is
  then ``None``).
- ``FX-XMP-EXTENSION`` (WARNING): the ``pdfaExtension:schemas`` description of that
  namespace is missing, or does not describe all four properties.
- ``FX-FILENAME`` (WARNING): the invoice XML does not have a standard file name (it was
  found through ``fx:DocumentFileName`` or by its root element).
- ``FX-MULTIPLE-XML`` (ERROR): more than one invoice XML under a standard name is embedded;
  the one the XMP names (else the first standard name) is the one returned and checked.
- ``FX-AFRELATIONSHIP`` (ERROR): the file specification has no ``/AFRelationship`` or one
  outside ``/Data``, ``/Source``, ``/Alternative``.
- ``FX-AFRELATIONSHIP-PROFILE`` (WARNING): the relationship is not the one Factur-X
  recommends for the XMP profile (``/Data`` for MINIMUM and BASIC WL, ``/Alternative``
  for the others).
- ``FX-MIMETYPE`` (ERROR): the embedded file stream has no ``/Subtype /text#2Fxml`` or
  ``/application#2Fxml``.
- ``FX-AF-MISSING`` (ERROR): the catalog ``/AF`` array is missing or does not reference the
  invoice's file specification (also when it references a second, different file
  specification of the same embedded stream).

(The engine adds ``FX-XMP-PROFILE`` when the XMP level and the XML's own profile disagree.)
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

from formats.facturx import container as _c
from formats.facturx.container import (
    FX_NAMESPACES,
    INVOICE_NAMES,
    MAX_ATTACHMENTS,
    MAX_DEPTH,
    MAX_EMBEDDED_BYTES,
    MAX_NODES,
    MAX_OBJECTS,
    MAX_PDF_BYTES,
    MAX_SNIFFED,
    MAX_XMP_BYTES,
    PDFA_EXTENSION,
    PDFAID,
    STANDARD_NAMES,
    TIME_BUDGET_S,
    Attachment,
    Budget,
    Exhausted,
    Finder,
    PdfInputError,
    Xmp,
)
from formats.facturx.container import get as _get
from formats.facturx.container import key as _key
from formats.facturx.container import name as _name
from formats.facturx.container import resolve as _resolve
from formats.facturx.container import text as _text
from schemas.report import Item, Level

__all__ = [
    "FX_NAMESPACES",
    "MAX_ATTACHMENTS",
    "MAX_DEPTH",
    "MAX_EMBEDDED_BYTES",
    "MAX_ITEMS_PER_ID",
    "MAX_NODES",
    "MAX_OBJECTS",
    "MAX_PAGES",
    "MAX_PDF_BYTES",
    "MAX_SNIFFED",
    "MAX_XMP_BYTES",
    "PDFA_EXTENSION",
    "STANDARD_NAMES",
    "TIME_BUDGET_S",
    "PdfCheck",
    "PdfInputError",
    "check_pdf",
]

MAX_PAGES = 1_000
"""Pages whose resources, annotations and actions are checked."""
MAX_ITEMS_PER_ID = 20
"""Most items listed per id; one more item says how many were left out."""

_FX_PROPERTIES = ("DocumentFileName", "DocumentType", "Version", "ConformanceLevel")
_XML_MIME = frozenset({"/text/xml", "/application/xml"})
_RELATIONSHIPS = frozenset({"/Data", "/Source", "/Alternative"})
_DATA_PROFILES = frozenset({"MINIMUM", "BASIC WL", "BASICWL"})
_FORBIDDEN_ACTIONS = frozenset(
    {
        "/Launch",
        "/Sound",
        "/Movie",
        "/ResetForm",
        "/ImportData",
        "/Hide",
        "/SetOCGState",
        "/Rendition",
        "/Trans",
        "/GoTo3DView",
    }
)
_DEFAULT_SPACES = ("/DefaultRGB", "/DefaultCMYK", "/DefaultGray")
_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")

_HEADER = re.compile(rb"%PDF-1\.[0-7]")
_HEADER_BINARY = re.compile(rb"%PDF-1\.[0-7][ \t]*(?:\r\n|\r|\n)%[\x80-\xff]{4}")


@dataclass
class PdfCheck:
    """The embedded invoice XML and the structural findings about the PDF around it."""

    xml: bytes
    filename: str
    xmp_profile: str | None
    items: list[Item] = field(default_factory=list)
    duration_ms: float = 0.0


def check_pdf(data: bytes, *, max_bytes: int = MAX_PDF_BYTES) -> PdfCheck:
    """Extract the embedded invoice from a Factur-X/ZUGFeRD PDF and check its structure.

    Raises ``PdfInputError`` (only that) when the PDF cannot be read or carries no invoice.
    """
    started = time.perf_counter()
    raw = _c.precheck(data, max_bytes)
    with _c.reading():
        result = _Checker(raw).run()
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


# ---------------------------------------------------------------------------- the checker


class _Checker:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.items: list[Item] = []
        self.counts: dict[tuple[Level, str], int] = {}
        self.budget = Budget()

    # -- reporting

    def add(self, level: Level, id_: str, message: str) -> None:
        if any(i.id == id_ and i.message == message for i in self.items):
            return
        count = self.counts[(level, id_)] = self.counts.get((level, id_), 0) + 1
        if count <= MAX_ITEMS_PER_ID:
            self.items.append(Item(level, id_, message))

    def error(self, id_: str, message: str) -> None:
        self.add(Level.ERROR, id_, message)

    def warning(self, id_: str, message: str) -> None:
        self.add(Level.WARNING, id_, message)

    def findings(self) -> list[Item]:
        """The items, with a last one per id saying how many more were left out."""
        items = list(self.items)
        for (level, id_), count in self.counts.items():
            if count > MAX_ITEMS_PER_ID:
                items.append(
                    Item(level, id_, f"{count - MAX_ITEMS_PER_ID} more {id_} findings are not listed")
                )
        return items

    @contextlib.contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Run one check: a damaged structure becomes a PDFA-DAMAGED item, not a crash, and a
        check that visits too many objects stops with a PDFA-LIMIT warning."""
        self.budget.nodes = 0
        try:
            yield
        except PdfInputError:
            raise
        except Exhausted as exc:
            bound = str(exc) or f"{MAX_NODES} objects"
            self.warning("PDFA-LIMIT", f"stopped checking {what} after {bound}; the rest was not checked")
        except Exception as exc:  # pypdf: any exception type on damaged objects
            self.error(
                "PDFA-DAMAGED", f"could not check {what}: the PDF structure is damaged ({_c.describe(exc)})"
            )

    # -- main

    # -- main

    def run(self) -> PdfCheck:
        reader, catalog = _c.open_pdf(self.data)
        self.check_header(reader)
        xmp = self.read_xmp(catalog)
        finder = Finder(self.budget, self.guard)
        attachments = finder.attachments(catalog)
        chosen = finder.choose(attachments, xmp)
        xml = chosen.read()
        namespace = _c.fx_namespace(xmp, chosen)
        profile = xmp.get(namespace, "ConformanceLevel") if xmp and namespace else None
        profile = profile or None

        pages = self.pages(reader)
        with self.guard("the output intent"):
            self.check_output_intent(catalog, pages)
        with self.guard("the fonts"):
            self.check_fonts(pages)
        with self.guard("JavaScript and actions"):
            self.check_actions(catalog, pages)
        if xmp is not None:
            self.check_pdfaid(xmp)
            self.check_fx_xmp(xmp, namespace, chosen)
        with self.guard("the embedded invoice file"):
            self.check_attachment(chosen, attachments, profile)
        return PdfCheck(xml=xml, filename=chosen.name, xmp_profile=profile, items=self.findings())

    # -- file level

    def check_header(self, reader: PdfReader) -> None:
        if not _HEADER.match(self.data):
            self.error("PDFA-HEADER", "the file must start at byte 0 with a %PDF-1.n header (PDF/A-3, 6.1.2)")
        elif not _HEADER_BINARY.match(self.data):
            self.error(
                "PDFA-HEADER-BINARY",
                "the header line must be followed by a comment of at least four bytes above 127 "
                "(PDF/A-3, 6.1.2)",
            )
        with self.guard("the trailer /ID"):
            ids = _resolve(reader.trailer.get("/ID"))
            if not isinstance(ids, ArrayObject) or len(ids) != 2:
                self.error("PDFA-TRAILER-ID", "the trailer has no /ID file identifier (PDF/A-3, 6.1.3)")

    def pages(self, reader: PdfReader) -> list[Any]:
        pages: list[Any] = []
        with self.guard("the page tree"):
            for index, page in enumerate(reader.pages):
                if index >= MAX_PAGES:
                    self.warning("PDFA-LIMIT", f"only the first {MAX_PAGES} pages were checked")
                    break
                self.budget.tick()
                pages.append(page)
        return pages

    # -- XMP

    # -- XMP

    def read_xmp(self, catalog: DictionaryObject) -> Xmp | None:
        reading: _c.XmpReading | None = None
        with self.guard("the XMP metadata"):
            reading = _c.read_xmp(catalog)
        if reading is None:
            return None
        if reading.missing:
            self.error(
                "PDFA-XMP-MISSING",
                "the catalog has no XMP metadata stream (/Metadata): the PDF/A identification and "
                "the Factur-X/ZUGFeRD properties are missing",
            )
            return None
        if reading.bad_dictionary:
            self.error(
                "PDFA-XMP-DICT",
                "the XMP metadata stream dictionary must have /Type /Metadata and /Subtype /XML "
                "(PDF/A-3, 6.6.2.1)",
            )
        if reading.invalid is not None:
            self.error(
                "PDFA-XMP-INVALID",
                f"the XMP metadata cannot be read ({reading.invalid}); the PDF/A identification and the "
                "Factur-X/ZUGFeRD properties could not be checked",
            )
        return reading.xmp

    def check_pdfaid(self, xmp: Xmp) -> None:
        part = xmp.get(PDFAID, "part")
        conformance = xmp.get(PDFAID, "conformance")
        if part is None:
            self.error(
                "PDFA-ID-PART",
                "the XMP metadata has no pdfaid:part: the file does not claim PDF/A-3, which an "
                "embedded invoice requires",
            )
        elif part != "3":
            self.error(
                "PDFA-ID-PART",
                f"the XMP metadata declares PDF/A-{part}; only PDF/A-3 may carry the embedded invoice XML",
            )
        if conformance is None:
            self.error("PDFA-ID-CONFORMANCE", "the XMP metadata has no pdfaid:conformance (A, B or U)")
        elif conformance.upper() not in {"A", "B", "U"}:
            self.error(
                "PDFA-ID-CONFORMANCE",
                f"pdfaid:conformance is {conformance!r}; PDF/A-3 knows A, B and U",
            )

    def check_fx_xmp(self, xmp: Xmp, namespace: str | None, chosen: Attachment) -> None:
        if namespace is None:
            self.error(
                "FX-XMP-SCHEMA",
                "the XMP metadata has no Factur-X/ZUGFeRD properties (fx:DocumentType, "
                "fx:DocumentFileName, fx:Version, fx:ConformanceLevel) in any of the namespaces "
                + ", ".join(FX_NAMESPACES),
            )
            return
        wanted_type = "ORDER" if chosen.name.lower() == "order-x.xml" else "INVOICE"
        doc_type = xmp.get(namespace, "DocumentType")
        if not doc_type:
            self.error("FX-XMP-DOCTYPE", f"the XMP metadata has no fx:DocumentType (must be {wanted_type})")
        elif doc_type != wanted_type:
            self.error("FX-XMP-DOCTYPE", f"fx:DocumentType is {doc_type!r}; it must be {wanted_type}")
        file_name = xmp.get(namespace, "DocumentFileName")
        if not file_name:
            self.error(
                "FX-XMP-FILENAME",
                f"the XMP metadata has no fx:DocumentFileName (must be {chosen.name!r}, the embedded file)",
            )
        elif not chosen.has_name(file_name):
            self.error(
                "FX-XMP-FILENAME",
                f"fx:DocumentFileName is {file_name!r}, but the embedded invoice is {chosen.name!r}",
            )
        if not xmp.get(namespace, "Version"):
            self.error("FX-XMP-VERSION", "the XMP metadata has no fx:Version")
        if not xmp.get(namespace, "ConformanceLevel"):
            self.error(
                "FX-XMP-LEVEL",
                "the XMP metadata has no fx:ConformanceLevel (the profile: MINIMUM, BASIC WL, "
                "BASIC, EN 16931, EXTENDED, XRECHNUNG)",
            )
        described = xmp.extensions.get(namespace)
        if described is None:
            self.warning(
                "FX-XMP-EXTENSION",
                f"the XMP metadata uses the namespace {namespace} but its pdfaExtension:schemas "
                "has no description of it (PDF/A requires one for custom properties)",
            )
        else:
            missing = [p for p in _FX_PROPERTIES if p not in described]
            if missing:
                self.warning(
                    "FX-XMP-EXTENSION",
                    "the pdfaExtension:schemas description of "
                    f"{namespace} does not describe {', '.join(missing)}",
                )

    # -- the embedded file

    def check_attachment(
        self, chosen: Attachment, attachments: list[Attachment], profile: str | None
    ) -> None:
        chosen_stream = chosen.stream_key()
        same_stream = [a for a in attachments if a is not chosen and a.stream_key() == chosen_stream]
        twins = {id(a) for a in same_stream}
        others = list(
            dict.fromkeys(
                a.name
                for a in attachments
                if a is not chosen and id(a) not in twins and any(n.lower() in INVOICE_NAMES for n in a.names)
            )
        )
        if others and chosen.name.lower() in INVOICE_NAMES:
            self.error(
                "FX-MULTIPLE-XML",
                f"the PDF embeds more than one invoice XML ({', '.join([chosen.name, *others])}); "
                f"Factur-X/ZUGFeRD allow exactly one. {chosen.name} was checked",
            )
        if chosen.standard_rank() is None:
            self.warning(
                "FX-FILENAME",
                f"the invoice XML is embedded as {chosen.name!r}; Factur-X names it factur-x.xml "
                "(ZUGFeRD 2: zugferd-invoice.xml or xrechnung.xml, ZUGFeRD 1.0: ZUGFeRD-invoice.xml)",
            )
        spec = chosen.spec
        missing = [k for k in ("/F", "/UF") if k not in spec]
        if missing:
            self.error(
                "PDFA-FILESPEC",
                f"the file specification of {chosen.name} has no {' or '.join(missing)} entry (PDF/A-3, 6.8)",
            )
        relationship = _name(spec.get("/AFRelationship"))
        if relationship is None:
            self.error(
                "FX-AFRELATIONSHIP",
                f"the file specification of {chosen.name} has no /AFRelationship (PDF/A-3 requires one; "
                "Factur-X: /Data, /Source or /Alternative)",
            )
        elif relationship not in _RELATIONSHIPS:
            self.error(
                "FX-AFRELATIONSHIP",
                f"the /AFRelationship of {chosen.name} is {relationship}; Factur-X allows /Data, /Source "
                "or /Alternative",
            )
        elif profile:
            recommended = "/Data" if profile.strip().upper() in _DATA_PROFILES else "/Alternative"
            if relationship != recommended:
                self.warning(
                    "FX-AFRELATIONSHIP-PROFILE",
                    f"the /AFRelationship of {chosen.name} is {relationship}; Factur-X recommends "
                    f"{recommended} for the {profile} profile",
                )
        stream = chosen.stream()
        subtype = _name(stream.get("/Subtype")) if stream is not None else None
        if subtype not in _XML_MIME:
            found = f"is {subtype}" if subtype else "is missing"
            self.error(
                "FX-MIMETYPE",
                f"the MIME type (/Subtype) of the embedded {chosen.name} {found}; it must be "
                "/text#2Fxml (or /application#2Fxml)",
            )
        if not chosen.in_af:
            twin = next((a for a in same_stream if a.in_af), None)
            detail = (
                " (it references a second file specification of the same embedded stream instead; "
                "the one in /EmbeddedFiles must be the associated one)"
                if twin is not None
                else ""
            )
            self.error(
                "FX-AF-MISSING",
                f"the catalog /AF array does not reference the file specification of {chosen.name}"
                f"{detail} (Factur-X: the invoice is an associated file of the document)",
            )
        for other in attachments:
            if other is chosen or id(other) in twins:
                continue
            self.budget.tick()
            problems = [k for k in ("/F", "/UF", "/AFRelationship") if k not in other.spec]
            other_stream = other.stream()
            if other_stream is None or _name(other_stream.get("/Subtype")) is None:
                problems.append("a MIME type (/Subtype)")
            if problems:
                self.error(
                    "PDFA-ATTACHMENT",
                    f"the embedded file {other.name} has no {', '.join(problems)} (PDF/A-3, 6.8)",
                )

    # -- output intent

    def check_output_intent(self, catalog: DictionaryObject, pages: list[Any]) -> None:
        intents = _get(catalog, "/OutputIntents")
        pdfa = []
        if isinstance(intents, ArrayObject):
            for raw in intents:
                self.budget.tick()
                intent = _resolve(raw)
                if _name(_get(intent, "/S")) == "/GTS_PDFA1":
                    pdfa.append(intent)
        if pdfa:
            if not any(isinstance(_get(i, "/DestOutputProfile"), StreamObject) for i in pdfa):
                self.error(
                    "PDFA-OUTPUTINTENT",
                    "the PDF/A output intent (/GTS_PDFA1) has no /DestOutputProfile ICC profile",
                )
            return
        if pages and all(self.has_default_space(page) for page in pages):
            self.warning(
                "PDFA-OUTPUTINTENT-DEFAULTCS",
                "the PDF has no PDF/A output intent (/OutputIntents with /S /GTS_PDFA1); every page "
                "defines a Default colour space, which PDF/A accepts if no uncalibrated device colour "
                "is used (not verified here)",
            )
            return
        self.error(
            "PDFA-OUTPUTINTENT",
            "the PDF has no PDF/A output intent (/OutputIntents with /S /GTS_PDFA1 and a /DestOutputProfile)",
        )

    @staticmethod
    def has_default_space(page: Any) -> bool:
        spaces = _get(_get(page, "/Resources"), "/ColorSpace")
        return isinstance(spaces, DictionaryObject) and any(k in spaces for k in _DEFAULT_SPACES)

    # -- fonts

    def check_fonts(self, pages: list[Any]) -> None:
        seen_resources: set[object] = set()
        seen_fonts: set[object] = set()
        for number, page in enumerate(pages, start=1):
            where = f"page {number}"
            self.walk_resources(_get(page, "/Resources"), where, 0, seen_resources, seen_fonts)
            annots = _get(page, "/Annots")
            if isinstance(annots, ArrayObject):
                for raw in annots:
                    self.budget.tick()
                    appearances = _get(_get(raw, "/AP"), "/N")
                    streams = (
                        [appearances]
                        if isinstance(appearances, StreamObject)
                        else [_resolve(v) for v in appearances.values()]
                        if isinstance(appearances, DictionaryObject)
                        else []
                    )
                    for stream in streams:
                        if isinstance(stream, StreamObject):
                            self.walk_resources(
                                _get(stream, "/Resources"),
                                f"an annotation on {where}",
                                1,
                                seen_resources,
                                seen_fonts,
                            )

    def walk_resources(
        self, resources: Any, where: str, depth: int, seen: set[object], seen_fonts: set[object]
    ) -> None:
        if not isinstance(resources, DictionaryObject) or _key(resources) in seen:
            return
        if depth > MAX_DEPTH:
            self.warning(
                "PDFA-LIMIT", f"resources nested deeper than {MAX_DEPTH} on {where} were not checked"
            )
            return
        seen.add(_key(resources))
        self.budget.tick()
        fonts = _get(resources, "/Font")
        if isinstance(fonts, DictionaryObject):
            for resource_name, raw in fonts.items():
                self.budget.tick()
                font = _resolve(raw)
                if not isinstance(font, DictionaryObject) or _key(font) in seen_fonts:
                    continue
                seen_fonts.add(_key(font))
                missing = _unembedded(font)
                if missing:
                    self.error(
                        "PDFA-FONT-NOT-EMBEDDED",
                        f"{missing} is not embedded (font resource {resource_name} on {where}); "
                        "PDF/A requires every font to be embedded",
                    )
                if _name(font.get("/Subtype")) == "/Type3":
                    self.walk_resources(_get(font, "/Resources"), where, depth + 1, seen, seen_fonts)
        for category, label in (("/XObject", "a form XObject"), ("/Pattern", "a pattern")):
            entries = _get(resources, category)
            if not isinstance(entries, DictionaryObject):
                continue
            for raw in entries.values():
                self.budget.tick()
                obj = _resolve(raw)
                if isinstance(obj, StreamObject) and (
                    _name(obj.get("/Subtype")) == "/Form" or category == "/Pattern"
                ):
                    self.walk_resources(
                        _get(obj, "/Resources"), f"{label} on {where}", depth + 1, seen, seen_fonts
                    )

    # -- JavaScript and forbidden actions

    def check_actions(self, catalog: DictionaryObject, pages: list[Any]) -> None:
        javascript: list[str] = []
        forbidden: list[str] = []
        names = _get(catalog, "/Names")
        if isinstance(names, DictionaryObject) and "/JavaScript" in names:
            javascript.append("document-level JavaScript (/Names /JavaScript)")
        self.action(_get(catalog, "/OpenAction"), "the /OpenAction", javascript, forbidden)
        if "/AA" in catalog:
            forbidden.append("additional actions (/AA) on the document catalog")
            self.additional(_get(catalog, "/AA"), "the document catalog", javascript, forbidden)
        for number, page in enumerate(pages, start=1):
            if "/AA" in page:
                forbidden.append(f"additional actions (/AA) on page {number}")
                self.additional(_get(page, "/AA"), f"page {number}", javascript, forbidden)
            annots = _get(page, "/Annots")
            if not isinstance(annots, ArrayObject):
                continue
            for raw in annots:
                self.budget.tick()
                annot = _resolve(raw)
                if not isinstance(annot, DictionaryObject):
                    continue
                self.action(_get(annot, "/A"), f"an annotation on page {number}", javascript, forbidden)
                if "/AA" in annot:
                    if _name(annot.get("/Subtype")) == "/Widget":
                        forbidden.append(f"additional actions (/AA) on a form widget on page {number}")
                    self.additional(
                        _get(annot, "/AA"), f"an annotation on page {number}", javascript, forbidden
                    )
        fields = _get(_get(catalog, "/AcroForm"), "/Fields")
        if isinstance(fields, ArrayObject):
            self.fields(fields, 0, set(), javascript, forbidden)
        for message in dict.fromkeys(javascript):
            self.error("PDFA-JAVASCRIPT", f"the PDF contains JavaScript: {message} (PDF/A forbids it)")
        for message in dict.fromkeys(forbidden):
            self.error("PDFA-ACTION", f"the PDF contains {message}, which PDF/A forbids")

    def fields(
        self, fields: ArrayObject, depth: int, seen: set[object], javascript: list[str], forbidden: list[str]
    ) -> None:
        if depth > MAX_DEPTH:
            return
        for raw in fields:
            self.budget.tick()
            node = _resolve(raw)
            if not isinstance(node, DictionaryObject) or _key(node) in seen:
                continue
            seen.add(_key(node))
            label = f"the form field {_text(node.get('/T')) or '(unnamed)'}"
            if "/AA" in node:
                forbidden.append(f"additional actions (/AA) on {label}")
                self.additional(_get(node, "/AA"), label, javascript, forbidden)
            self.action(_get(node, "/A"), label, javascript, forbidden)
            kids = _get(node, "/Kids")
            if isinstance(kids, ArrayObject):
                self.fields(kids, depth + 1, seen, javascript, forbidden)

    def additional(self, aa: Any, where: str, javascript: list[str], forbidden: list[str]) -> None:
        if isinstance(aa, DictionaryObject):
            for trigger, raw in aa.items():
                self.budget.tick()
                self.action(_resolve(raw), f"the {trigger} action of {where}", javascript, forbidden)

    def action(self, action: Any, where: str, javascript: list[str], forbidden: list[str]) -> None:
        seen: set[object] = set()
        queue: list[tuple[Any, int]] = [(action, 0)]
        while queue:
            current, depth = queue.pop()
            current = _resolve(current)
            if isinstance(current, ArrayObject):
                queue.extend((item, depth + 1) for item in current if depth < MAX_DEPTH)
                continue
            if not isinstance(current, DictionaryObject) or _key(current) in seen or depth > MAX_DEPTH:
                continue
            seen.add(_key(current))
            self.budget.tick()
            kind = _name(current.get("/S"))
            if kind == "/JavaScript" or "/JS" in current:
                javascript.append(f"a JavaScript action in {where}")
            elif kind in _FORBIDDEN_ACTIONS:
                forbidden.append(f"a {kind[1:]} action in {where}")
            if "/Next" in current:
                queue.append((current.get("/Next"), depth + 1))


def _unembedded(font: DictionaryObject) -> str | None:
    """The font's name if it is not embedded, else None (Type 3 fonts are always fine)."""
    subtype = _name(font.get("/Subtype"))
    if subtype == "/Type3":
        return None
    base = _text(font.get("/BaseFont")).lstrip("/") or "(a font without /BaseFont)"
    described: Any = font
    if subtype == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts"))
        described = _resolve(descendants[0]) if isinstance(descendants, ArrayObject) and descendants else None
    descriptor = _get(described, "/FontDescriptor")
    if isinstance(descriptor, DictionaryObject) and any(
        isinstance(_get(descriptor, key), StreamObject) for key in _FONT_FILES
    ):
        return None
    return base
