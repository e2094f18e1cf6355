"""Reading a Factur-X / ZUGFeRD PDF container: the one place that opens hostile PDFs.

Both ``formats.facturx.extract`` (taking the invoice out) and ``schemas.pdf`` (the structural
PDF/A-3 check of the validation engine) read PDFs through this module, so that the bounds on
hostile input and the rules for finding the invoice among the attachments exist once.

Every reading is bounded: the size of the file, the objects it declares or holds (counted
before pypdf parses anything), decompression (pypdf's limits, lowered for each call), the
XMP packet, the attachments read, the nesting followed and the time spent. Failures raise
``PdfInputError`` (an ``InvoiceInputError``) with a message saying what is wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pypdf
from lxml import etree
from pypdf import PdfReader
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from formats.errors import InvoiceInputError

MAX_PDF_BYTES = 100 * 1024 * 1024
"""Largest PDF accepted."""
MAX_EMBEDDED_BYTES = 20 * 1024 * 1024
"""Largest embedded XML accepted (decoded); a 500-line CII invoice is about 1 MB."""
MAX_OBJECTS = 200_000
"""Most objects a PDF may declare or hold (an invoice has tens to a few thousand)."""
MAX_XMP_BYTES = 4 * 1024 * 1024
"""Largest XMP metadata packet read."""
MAX_DEPTH = 12
"""Deepest nesting followed in name trees, form XObjects, field trees and action chains."""
MAX_NODES = 10_000
"""Most objects one walk visits (the rest is not read)."""
MAX_SNIFFED = 8
"""Most non-standard ``*.xml`` attachments opened to look for an invoice root."""
MAX_ATTACHMENTS = 200
"""Most file specifications read from the name tree and ``/AF`` (an invoice has a handful)."""
TIME_BUDGET_S = 10.0
"""Time after which the walks give up and the PDF is refused."""

STANDARD_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "order-x.xml")
"""Standard embedded file names, lower-cased, in order of preference (``ZUGFeRD-invoice.xml``,
the ZUGFeRD 1.0 name, is ``zugferd-invoice.xml`` lower-cased)."""
INVOICE_NAMES = frozenset(STANDARD_NAMES[:3])

FACTURX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
ZUGFERD2_NS = "urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#"
ZUGFERD1_NS = "urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#"
FX_NAMESPACES = (FACTURX_NS, ZUGFERD2_NS, ZUGFERD1_NS)
"""The XMP extension schema namespaces of Factur-X, ZUGFeRD 2.0 and ZUGFeRD 1.0."""

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PDFAID = "http://www.aiim.org/pdfa/ns/id/"
PDFA_EXTENSION = "http://www.aiim.org/pdfa/ns/extension/"
PDFA_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
PDFA_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"

CII_ROOT = ("urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100", "CrossIndustryInvoice")
ZUGFERD1_ROOT = ("urn:ferd:CrossIndustryDocument:invoice:1p0", "CrossIndustryDocument")
INVOICE_ROOTS = frozenset(
    {
        CII_ROOT,
        ZUGFERD1_ROOT,
        ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", "Invoice"),
        ("urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2", "CreditNote"),
    }
)

_XREF_SECTION = re.compile(rb"(?<!start)xref\s+\d+\s+(\d+)")


class PdfInputError(InvoiceInputError):
    """The bytes are not a readable Factur-X/ZUGFeRD PDF; the message says why."""


class Exhausted(Exception):
    """One walk visited ``MAX_NODES`` objects (or another bound named in the message); it stops."""


class Budget:
    """Bounds each walk through the object graph in objects visited, and all of them in time."""

    def __init__(self) -> None:
        self.nodes = 0
        self.deadline = time.monotonic() + TIME_BUDGET_S

    def tick(self) -> None:
        self.nodes += 1
        if self.nodes % 128 == 0 and time.monotonic() > self.deadline:
            raise PdfInputError(f"the PDF took more than {TIME_BUDGET_S:.0f} s to analyse; refused")
        if self.nodes > MAX_NODES:
            raise Exhausted


# ---------------------------------------------------------------------------- opening


def precheck(data: bytes, max_bytes: int = MAX_PDF_BYTES) -> bytes:
    """Refuse what pypdf should never be given: wrong type, empty, too big, too many objects."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise PdfInputError(f"expected the PDF as bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise PdfInputError("the PDF is empty (0 bytes)")
    if len(data) > max_bytes:
        raise PdfInputError(f"the PDF is {len(data)} bytes; the limit is {max_bytes}")
    if b"%PDF-" not in bytes(data[:1024]):
        raise PdfInputError("not a PDF: no %PDF- header in the first 1024 bytes")
    raw = bytes(data)
    if raw.count(b"endobj") > MAX_OBJECTS:
        raise PdfInputError(f"the PDF holds more than {MAX_OBJECTS} objects; refused")
    for match in _XREF_SECTION.finditer(raw):
        if int(match.group(1)) > MAX_OBJECTS:
            raise PdfInputError(
                f"the PDF's cross-reference table declares {int(match.group(1))} objects; "
                f"the limit is {MAX_OBJECTS}"
            )
    return raw


def _pypdf_limits() -> dict[str, int]:
    """The pypdf ``Configuration`` limits this module lowers, restricted to those that exist."""
    configuration = getattr(pypdf, "Configuration", None)
    if configuration is None or not dataclasses.is_dataclass(configuration):
        return {}
    known = {f.name for f in dataclasses.fields(configuration)}
    cap = MAX_EMBEDDED_BYTES + 1
    wanted = {
        "zlib_maximum_output_length": cap,
        "lzw_maximum_output_length": cap,
        "run_length_maximum_output_length": cap,
        "array_based_stream_maximum_output_length": cap,
        "jbig2_maximum_output_length": cap,
        "brotli_maximum_output_length": cap,
        "maximum_declared_stream_length": MAX_PDF_BYTES,
        "xmp_maximum_input_length": MAX_XMP_BYTES,
    }
    return {name: value for name, value in wanted.items() if name in known}


_LIMITS = _pypdf_limits()

_READER_OPTIONS: dict[str, Any] = {"strict": False}
if "xref_stream_maximum_entries" in inspect.signature(PdfReader.__init__).parameters:  # pypdf ≥ 6
    _READER_OPTIONS["xref_stream_maximum_entries"] = MAX_OBJECTS


@contextlib.contextmanager
def limits() -> Iterator[None]:
    """Cap pypdf's decompression for this call (pypdf ≥ 7: a context variable, thread-safe)."""
    apply = getattr(pypdf, "apply_configuration", None)
    if apply is None or not _LIMITS:
        yield
        return
    with apply(**_LIMITS):
        yield


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Run a reading under the limits; anything pypdf raises becomes a ``PdfInputError``."""
    try:
        with limits():
            yield
    except PdfInputError:
        raise
    except LimitReachedError as exc:
        raise PdfInputError(f"the PDF exceeds a safety limit and is refused ({describe(exc)})") from exc
    except Exception as exc:  # pypdf raises many exception types on damaged or hostile files
        raise PdfInputError(f"the PDF is damaged or truncated and cannot be read ({describe(exc)})") from exc


def open_pdf(raw: bytes) -> tuple[PdfReader, DictionaryObject]:
    """The reader and the document catalog of prechecked bytes (call inside ``reading()``)."""
    reader = PdfReader(BytesIO(raw), **_READER_OPTIONS)
    if reader.is_encrypted:
        raise PdfInputError(
            "the PDF is encrypted: PDF/A-3 forbids encryption and the embedded XML cannot be read or trusted"
        )
    count = sum(len(v) for v in getattr(reader, "xref", {}).values()) + len(
        getattr(reader, "xref_objStm", {})
    )
    if count > MAX_OBJECTS:
        raise PdfInputError(f"the PDF holds {count} objects; the limit is {MAX_OBJECTS}")
    declared = resolve(reader.trailer.get("/Size"))
    if isinstance(declared, int) and declared > MAX_OBJECTS:
        raise PdfInputError(
            f"the PDF's trailer declares {declared} objects (/Size); the limit is {MAX_OBJECTS}"
        )
    catalog = resolve(reader.trailer.get("/Root"))
    if not isinstance(catalog, DictionaryObject):
        raise PdfInputError("the PDF has no document catalog (/Root); it is damaged")
    return reader, catalog


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if not type(exc).__module__.startswith("pypdf"):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    text = text or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


# ---------------------------------------------------------------------------- object helpers


def resolve(obj: Any) -> Any:
    for _ in range(8):
        if not isinstance(obj, IndirectObject):
            return obj
        obj = obj.get_object()
    return None


def get(container: Any, key: str) -> Any:
    if not isinstance(container, DictionaryObject):
        return None
    return resolve(container.get(key))


def ref(obj: Any) -> tuple[int, int] | None:
    if isinstance(obj, IndirectObject):
        return (obj.idnum, obj.generation)
    indirect = getattr(obj, "indirect_reference", None)
    if isinstance(indirect, IndirectObject):
        return (indirect.idnum, indirect.generation)
    return None


def key(obj: Any) -> object:
    """A stable identity for a PDF object: its reference, else the Python object."""
    return ref(obj) or id(obj)


def text(obj: Any) -> str:
    obj = resolve(obj)
    if obj is None:
        return ""
    if isinstance(obj, bytes):
        return obj.decode("latin-1")
    return str(obj)


def name(obj: Any) -> str | None:
    """A PDF name as pypdf spells it (``/Data``), or None."""
    obj = resolve(obj)
    return str(obj) if isinstance(obj, str) and str(obj).startswith("/") else None


# ---------------------------------------------------------------------------- XMP


@dataclass
class Xmp:
    """The simple properties of an XMP packet, by (namespace, name), and its extension schemas."""

    props: dict[tuple[str, str], str]
    extensions: dict[str, set[str]]

    def get(self, namespace: str, prop: str) -> str | None:
        return self.props.get((namespace, prop))

    def fx_namespaces(self) -> list[str]:
        return [ns for ns in FX_NAMESPACES if any(k[0] == ns for k in self.props)]

    def named_files(self) -> set[str]:
        return {v for ns in FX_NAMESPACES if (v := self.get(ns, "DocumentFileName"))}


@dataclass
class XmpReading:
    """What reading the catalog's /Metadata gave: the XMP, or why there is none."""

    xmp: Xmp | None
    missing: bool = False
    bad_dictionary: bool = False
    invalid: str | None = None


def xml_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )


def parse_xmp(packet: bytes) -> Xmp:
    if b"<!doctype" in packet.lower():
        raise ValueError("it has a DOCTYPE declaration (refused)")
    root = etree.fromstring(packet.strip(b"\x00 \t\r\n"), xml_parser())
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ValueError("it has a DOCTYPE declaration (refused)")
    props: dict[tuple[str, str], str] = {}
    for desc in root.iter(f"{{{RDF}}}Description"):
        for attr, value in desc.attrib.items():
            qname = etree.QName(attr)
            if qname.namespace and qname.namespace != RDF:
                props.setdefault((qname.namespace, qname.localname), str(value).strip())
        for child in desc:
            if not isinstance(child.tag, str):
                continue
            qname = etree.QName(child)
            if qname.namespace and len(child) == 0:
                props.setdefault((qname.namespace, qname.localname), (child.text or "").strip())
    extensions: dict[str, set[str]] = {}
    for schemas in root.iter(f"{{{PDFA_EXTENSION}}}schemas"):
        for node in schemas.iter():
            if not isinstance(node.tag, str):
                continue
            uri = node.get(f"{{{PDFA_SCHEMA}}}namespaceURI")
            if uri is None:
                child = node.find(f"{{{PDFA_SCHEMA}}}namespaceURI")
                uri = child.text if child is not None else None
            if not uri:
                continue
            names = extensions.setdefault(uri.strip(), set())
            for prop in node.iter():
                if not isinstance(prop.tag, str):
                    continue
                if etree.QName(prop) == etree.QName(PDFA_PROPERTY, "name") and prop.text:
                    names.add(prop.text.strip())
                attr_name = prop.get(f"{{{PDFA_PROPERTY}}}name")
                if attr_name:
                    names.add(attr_name.strip())
    return Xmp(props, extensions)


def read_xmp(catalog: DictionaryObject) -> XmpReading:
    """The catalog's XMP packet, bounded; a damaged packet is reported, not raised."""
    stream = get(catalog, "/Metadata")
    if not isinstance(stream, StreamObject):
        return XmpReading(None, missing=True)
    bad_dictionary = name(stream.get("/Type")) != "/Metadata" or name(stream.get("/Subtype")) != "/XML"
    try:
        packet = stream.get_data()
        if len(packet) > MAX_XMP_BYTES:
            raise ValueError(f"it is {len(packet)} bytes; the limit is {MAX_XMP_BYTES}")
        return XmpReading(parse_xmp(packet), bad_dictionary=bad_dictionary)
    except LimitReachedError:
        reason = f"it is larger than {MAX_XMP_BYTES} bytes"
    except etree.XMLSyntaxError as exc:
        reason = f"it is not well-formed XML: {exc.msg or exc}"
    except Exception as exc:
        reason = describe(exc)
    return XmpReading(None, bad_dictionary=bad_dictionary, invalid=reason)


# ---------------------------------------------------------------------------- attachments


@dataclass(eq=False)  # compared by identity
class Attachment:
    """One file specification: its names (/UF, /F, name-tree key: distinct, non-empty, in that
    order), the dictionary, its reference and whether the catalog /AF array lists it."""

    names: list[str]
    spec: Any
    ref: tuple[int, int] | None
    in_af: bool = False

    @property
    def name(self) -> str:
        return self.names[0] if self.names else "(unnamed attachment)"

    def has_name(self, wanted: str) -> bool:
        return wanted in self.names

    def standard_rank(self) -> int | None:
        ranks = [STANDARD_NAMES.index(n.lower()) for n in self.names if n.lower() in STANDARD_NAMES]
        return min(ranks) if ranks else None

    def is_standard_invoice_name(self) -> bool:
        return any(n.lower() in INVOICE_NAMES for n in self.names)

    def stream(self) -> Any:
        ef = get(self.spec, "/EF")
        for entry in ("/F", "/UF"):
            stream = get(ef, entry)
            if isinstance(stream, StreamObject):
                return stream
        return None

    def stream_key(self) -> object:
        """The embedded stream's identity: two file specifications may share one stream."""
        ef = get(self.spec, "/EF")
        for entry in ("/F", "/UF"):
            raw = ef.get(entry) if isinstance(ef, DictionaryObject) else None
            if raw is not None:
                return ref(raw) or id(resolve(raw))
        return ("spec", key(self.spec))

    def relationship(self) -> str | None:
        return name(self.spec.get("/AFRelationship")) if isinstance(self.spec, DictionaryObject) else None

    def read(self) -> bytes:
        """The decoded embedded file, at most ``MAX_EMBEDDED_BYTES`` (a bomb is refused)."""
        stream = self.stream()
        if stream is None:
            raise PdfInputError(f"the attachment {self.name} has no embedded file stream (/EF)")
        declared = resolve(get(get(stream, "/Params"), "/Size"))
        if isinstance(declared, int) and declared > MAX_EMBEDDED_BYTES:
            raise _too_large(self.name, declared)
        try:
            data = stream.get_data()
        except LimitReachedError as exc:
            raise _too_large(self.name, None) from exc
        except Exception as exc:
            raise PdfInputError(f"the embedded file {self.name} cannot be decoded ({describe(exc)})") from exc
        if len(data) > MAX_EMBEDDED_BYTES:
            raise _too_large(self.name, len(data))
        return bytes(data)


def _too_large(file_name: str, size: int | None) -> PdfInputError:
    what = f"{size} bytes" if size is not None else f"more than {MAX_EMBEDDED_BYTES} bytes"
    return PdfInputError(f"the embedded XML {file_name} is {what}; the limit is {MAX_EMBEDDED_BYTES}")


def root_of(xml: bytes) -> tuple[str, str] | None:
    """The namespace and local name of an XML document's root, read without expanding anything."""
    try:
        for _event, element in etree.iterparse(
            BytesIO(xml),
            events=("start",),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        ):
            qname = etree.QName(element)
            return (qname.namespace or "", qname.localname)
    except etree.XMLSyntaxError:
        return None
    return None


Guard = Callable[[str], contextlib.AbstractContextManager[None]]
"""Runs one walk; the structural check turns a failure into a finding, extraction skips it."""


@contextlib.contextmanager
def lenient(what: str) -> Iterator[None]:
    """The guard extraction uses: a damaged or endless part is skipped, the rest is still read."""
    try:
        yield
    except PdfInputError:
        raise
    except Exception:  # pypdf: any exception type on damaged objects; Exhausted at a bound
        return


class Finder:
    """Finds the embedded files and picks the invoice among them (bounded)."""

    def __init__(self, budget: Budget | None = None, guard: Guard = lenient) -> None:
        self.budget = budget or Budget()
        self.guard = guard
        self.sniffed = 0

    def attachments(self, catalog: DictionaryObject) -> list[Attachment]:
        """Every file specification in the ``/EmbeddedFiles`` name tree and the catalog ``/AF``."""
        found: list[Attachment] = []
        by_key: dict[object, Attachment] = {}

        def add(raw: Any, tree_key: str | None, in_af: bool) -> None:
            spec = resolve(raw)
            if not isinstance(spec, DictionaryObject):
                return
            identity = ref(raw) or id(spec)
            existing = by_key.get(identity)
            if existing is not None:
                existing.in_af = existing.in_af or in_af
                if tree_key and len(existing.names) < 4 and tree_key not in existing.names:
                    existing.names.append(tree_key)
                return
            if len(found) >= MAX_ATTACHMENTS:
                raise Exhausted(f"more than {MAX_ATTACHMENTS} embedded files")
            names: list[str] = []
            for candidate in (text(spec.get("/UF")), text(spec.get("/F")), tree_key or ""):
                if candidate and candidate not in names:
                    names.append(candidate)
            attachment = Attachment(names, spec, ref(raw), in_af)
            by_key[identity] = attachment
            found.append(attachment)

        with self.guard("the /EmbeddedFiles name tree"):
            self.budget.nodes = 0
            tree = get(get(catalog, "/Names"), "/EmbeddedFiles")
            for tree_key, raw in self.name_tree(tree):
                add(raw, tree_key, in_af=False)
        with self.guard("the catalog /AF array"):
            self.budget.nodes = 0
            af = get(catalog, "/AF")
            if isinstance(af, ArrayObject):
                for raw in af:
                    self.budget.tick()
                    add(raw, None, in_af=True)
        return found

    def name_tree(
        self, node: Any, depth: int = 0, seen: set[object] | None = None
    ) -> Iterator[tuple[str, Any]]:
        seen = set() if seen is None else seen
        node = resolve(node)
        if not isinstance(node, DictionaryObject) or depth > MAX_DEPTH or key(node) in seen:
            return
        seen.add(key(node))
        self.budget.tick()
        names = get(node, "/Names")
        if isinstance(names, ArrayObject):
            for index in range(0, len(names) - 1, 2):
                self.budget.tick()
                yield text(names[index]), names[index + 1]
        kids = get(node, "/Kids")
        if isinstance(kids, ArrayObject):
            for kid in kids:
                yield from self.name_tree(kid, depth + 1, seen)

    def choose(self, attachments: list[Attachment], xmp: Xmp | None) -> Attachment:
        """The invoice: the file the XMP names, else the best standard name, else an XML file
        whose root is an invoice."""
        if not attachments:
            raise PdfInputError(
                "the PDF has no embedded files: it is not a Factur-X/ZUGFeRD invoice (no factur-x.xml, "
                "zugferd-invoice.xml or xrechnung.xml attachment)"
            )
        named = xmp.named_files() if xmp else set()
        for attachment in attachments:
            if any(attachment.has_name(n) for n in named) and (
                attachment.standard_rank() is not None or self.is_invoice(attachment)
            ):
                return attachment
        ranked = [
            (a.standard_rank(), i, a) for i, a in enumerate(attachments) if a.standard_rank() is not None
        ]
        if ranked:
            return min(ranked, key=lambda r: (r[0], r[1]))[2]
        for attachment in attachments:
            if any(n.lower().endswith(".xml") for n in attachment.names) and self.is_invoice(attachment):
                return attachment
        listed = ", ".join(a.name for a in attachments[:10])
        raise PdfInputError(
            f"the PDF embeds no invoice XML (attachments: {listed}); expected factur-x.xml, "
            "zugferd-invoice.xml, xrechnung.xml or an XML file with a CII or UBL invoice root"
        )

    def is_invoice(self, attachment: Attachment) -> bool:
        """Whether a non-standard attachment holds an invoice (at most MAX_SNIFFED are opened)."""
        self.sniffed += 1
        if self.sniffed > MAX_SNIFFED:
            return False
        try:
            return root_of(attachment.read()) in INVOICE_ROOTS
        except Exception:  # an attachment that cannot be read is not the invoice
            return False


def fx_namespace(xmp: Xmp | None, chosen: Attachment) -> str | None:
    """The Factur-X/ZUGFeRD XMP namespace that describes the chosen file (else the first present)."""
    if xmp is None:
        return None
    present = xmp.fx_namespaces()
    for ns in present:
        named = xmp.get(ns, "DocumentFileName")
        if named and chosen.has_name(named):
            return ns
    return present[0] if present else None
