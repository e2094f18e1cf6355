"""The validation engine: hardened parsing, XSD (lxml), Schematron (saxonche), in order.

``Engine`` runs in whichever process calls it; the gateway runs it inside supervised
worker processes (``schemas.pool``) so that a Saxon crash or a memory leak never takes
the service down and is never read as "valid". Each XSD is loaded and each XSLT compiled
once per process and kept.

Saxon is only ever given the tree lxml already parsed, re-serialised without any DOCTYPE,
so the document itself cannot make Saxon read a file or open a connection.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from formats.errors import ArtefactError
from schemas.artefacts import KNOWN_BY_KEY, Kind, Resolved, RuleStore, Status, resolve
from schemas.report import BLOCKING, ArtefactUse, Item, LayerResult, Level, Report, Validity
from schemas.sets import NAMESPACES, ROOT_NAMES, Layer, Syntax, ValidationSet, find_set, set_for
from schemas.svrl import parse_svrl
from schemas.xmlsafe import MAX_XML_BYTES, XmlInputError, parse_xml

PDF_MAGIC = b"%PDF-"
_BOM = b"\xef\xbb\xbf"


def document_kind(data: bytes) -> str | None:
    """``"pdf"``, ``"xml"`` or ``None``, from the first bytes (never from a file name or header)."""
    head = data[:1024].lstrip(b"\x00").removeprefix(_BOM).lstrip()
    if head.startswith(PDF_MAGIC):
        return "pdf"
    if head.startswith(b"<"):
        return "xml"
    return None


_SPEC_PATHS = {
    Syntax.UBL_INVOICE: "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
    "CustomizationID",
    Syntax.UBL_CREDITNOTE: "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
    "CustomizationID",
    Syntax.CII: "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}"
    "ExchangedDocumentContext/{urn:un:unece:uncefact:data:standard:"
    "ReusableAggregateBusinessInformationEntity:100}GuidelineSpecifiedDocumentContextParameter/"
    "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}ID",
    Syntax.ZUGFERD1: "{urn:ferd:CrossIndustryDocument:invoice:1p0}SpecifiedExchangedDocumentContext/"
    "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12}"
    "GuidelineSpecifiedDocumentContextParameter/"
    "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12}ID",
}


def detect_syntax(root: etree._Element) -> Syntax | None:
    qname = etree.QName(root)
    syntax = NAMESPACES.get(qname.namespace or "")
    if syntax is not None and ROOT_NAMES[syntax] == qname.localname:
        return syntax
    return None


def specification_id(root: etree._Element, syntax: Syntax) -> str | None:
    found = root.find(_SPEC_PATHS[syntax])
    return (found.text or "").strip() if found is not None else None


def _use(resolved: Resolved) -> ArtefactUse:
    known = KNOWN_BY_KEY[resolved.key]
    return ArtefactUse(
        resolved.key, known.title, resolved.version, resolved.sha256, resolved.status.value, resolved.origin
    )


@dataclass
class Engine:
    """Validates documents; caches compiled artefacts for the life of the process."""

    store: RuleStore = field(default_factory=RuleStore)
    keep_svrl: bool = False
    max_bytes: int = MAX_XML_BYTES
    _schemas: dict[str, etree.XMLSchema] = field(default_factory=dict, repr=False)
    _xslts: dict[str, Any] = field(default_factory=dict, repr=False)
    _saxon: Any = field(default=None, repr=False)

    # ------------------------------------------------------------------ artefacts

    def _resolve(self, layer: Layer) -> Resolved | None:
        for key in layer.artefacts:
            found = resolve(key, self.store)
            if found is not None:
                return found
        return None

    def xsd(self, resolved: Resolved) -> etree.XMLSchema:
        schema = self._schemas.get(resolved.key)
        if schema is None:
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            try:
                schema = etree.XMLSchema(etree.parse(str(resolved.path), parser))
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
                raise ArtefactError(f"cannot load {resolved.path}: {exc}") from exc
            self._schemas[resolved.key] = schema
        return schema

    def xslt(self, resolved: Resolved) -> Any:
        executable = self._xslts.get(resolved.key)
        if executable is None:
            if self._saxon is None:
                from saxonche import PySaxonProcessor

                self._saxon = PySaxonProcessor(license=False)
            compiler = self._saxon.new_xslt30_processor()
            try:
                executable = compiler.compile_stylesheet(stylesheet_file=str(resolved.path))
            except Exception as exc:  # saxonche raises its own PySaxonApiError
                raise ArtefactError(f"cannot compile {resolved.path}: {exc}") from exc
            self._xslts[resolved.key] = executable
        return executable

    def run_schematron(self, key: str, root: etree._Element) -> tuple[list[Item], str]:
        """Run one Schematron artefact on a parsed document: its items and the SVRL."""
        resolved = resolve(key, self.store)
        if resolved is None:
            raise ArtefactError(f"{KNOWN_BY_KEY[key].title} is not installed")
        return self._schematron(resolved, root)

    def _schematron(self, resolved: Resolved, root: etree._Element) -> tuple[list[Item], str]:
        executable = self.xslt(resolved)
        text = etree.tostring(root, encoding="unicode")
        try:
            node = self._saxon.parse_xml(xml_text=text)
            svrl = executable.transform_to_string(xdm_node=node)
        except Exception as exc:
            raise _LayerFailed(f"Saxon failed: {exc}") from exc
        if not svrl:
            raise _LayerFailed("Saxon produced no SVRL output")
        return parse_svrl(svrl, root), svrl

    # ------------------------------------------------------------------ validation

    def validate(self, data: bytes, name: str = "document", set_id: str | None = None) -> Report:
        """Validate one XML or Factur-X/ZUGFeRD PDF document; never raises for bad input."""
        started = time.perf_counter()
        report = Report(document=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        try:
            if document_kind(data) == "pdf":
                self._validate_pdf(data, report, set_id)
            else:
                self._validate_xml(data, report, set_id, in_pdf=False)
        except (XmlInputError, _Unreadable) as exc:
            report.error = str(exc)
        report.duration_ms = (time.perf_counter() - started) * 1000
        return report

    def _validate_pdf(self, data: bytes, report: Report, set_id: str | None) -> None:
        from schemas.pdf import PdfInputError, check_pdf

        try:
            pdf = check_pdf(data)
        except PdfInputError as exc:
            raise _Unreadable(str(exc)) from None
        report.embedded = pdf.filename
        report.notes.append(
            "PDF/A-3 checks are structural (metadata, output intent, fonts, encryption, "
            "embedded file relationship); this is not a full veraPDF validation."
        )
        structure = LayerResult(
            "Factur-X PDF/A-3 structure", "pdf", Validity.VALID, pdf.duration_ms, items=list(pdf.items)
        )
        report.layers.append(structure)
        chosen = self._validate_xml(pdf.xml, report, set_id, in_pdf=True)
        mismatch = _profile_mismatch(pdf.xmp_profile, chosen)
        if mismatch:
            structure.items.append(Item(Level.ERROR, "FX-XMP-PROFILE", mismatch))
        if any(i.level in BLOCKING for i in structure.items):
            structure.validity = Validity.INVALID

    def _validate_xml(
        self, data: bytes, report: Report, set_id: str | None, *, in_pdf: bool
    ) -> ValidationSet:
        start = time.perf_counter()
        tree = parse_xml(data, max_bytes=self.max_bytes)
        root = tree.getroot()
        syntax = detect_syntax(root)
        if syntax is None:
            qname = etree.QName(root)
            raise _Unreadable(
                f"not an invoice this gateway knows: root element {{{qname.namespace}}}"
                f"{qname.localname} (expected UBL Invoice/CreditNote, CII CrossIndustryInvoice "
                "or ZUGFeRD 1.0 CrossIndustryDocument)"
            )
        report.syntax = syntax.value
        report.specification_id = specification_id(root, syntax)
        if set_id:
            chosen = find_set(set_id)
            if chosen is None:
                raise _Unreadable(f"unknown validation set {set_id!r}; see `gateway rules list`")
            if chosen.syntax is not syntax:
                raise _Unreadable(
                    f"the set {chosen.id} validates {chosen.syntax.value} documents; this one is "
                    f"{syntax.value}"
                )
        else:
            chosen = set_for(syntax, report.specification_id, in_pdf=in_pdf)
        report.set_id, report.set_title = chosen.id, chosen.title
        if chosen.status != "current":
            report.notes.append(f"{chosen.id} is {chosen.status}; use {chosen.replacement}")
        report.layers.append(
            LayerResult(
                "XML well-formedness (hardened)", "xml", Validity.VALID, (time.perf_counter() - start) * 1000
            )
        )
        self._run_layers(chosen, root, report)
        return chosen

    def _run_layers(self, chosen: ValidationSet, root: etree._Element, report: Report) -> None:
        blocked = False
        for layer in chosen.layers:
            result = LayerResult(layer.name, layer.kind.value, Validity.VALID)
            report.layers.append(result)
            if blocked:
                result.validity = Validity.SKIPPED
                result.message = "not run: an earlier layer found errors"
                continue
            start = time.perf_counter()
            try:
                resolved = self._resolve(layer)
                if resolved is None:
                    result.validity = Validity.ERROR
                    result.message = f"no artefact installed for this layer; {layer.install_hint}"
                    continue
                result.artefact = _use(resolved)
                if resolved.status is Status.UNVERIFIED:
                    report.notes.append(
                        f"{result.artefact.title}: the installed file is not a release the gateway "
                        f"knows (SHA-256 {resolved.sha256[:16]}…); its verdict is reported as is"
                    )
                if layer.kind is Kind.XSD:
                    result.items = self._run_xsd(resolved, root)
                else:
                    result.items, svrl = self._schematron(resolved, root)
                    result.svrl = svrl if self.keep_svrl else None
            except (ArtefactError, _LayerFailed) as exc:
                result.validity = Validity.ERROR
                result.message = str(exc)
                continue
            finally:
                result.duration_ms = (time.perf_counter() - start) * 1000
            if any(item.level in BLOCKING for item in result.items):
                result.validity = Validity.INVALID
                # A schema-invalid document is not fed to Schematron (its XPaths assume the
                # schema), but every Schematron layer runs: each set's rules are reported.
                blocked = layer.kind is Kind.XSD

    def _run_xsd(self, resolved: Resolved, root: etree._Element) -> list[Item]:
        schema = self.xsd(resolved)
        if schema.validate(root):
            return []
        return [
            Item(
                level=Level.ERROR,
                id="XSD",
                message=error.message,
                line=error.line,
                location=error.path or None,
            )
            for error in schema.error_log  # type: ignore[attr-defined]
        ]


_XMP_PROFILES = {
    "MINIMUM": "minimum",
    "BASIC WL": "basicwl",
    "BASIC": "basic",
    "EN 16931": "en16931",
    "EN16931": "en16931",
    "COMFORT": "en16931",
    "EXTENDED": "extended",
    "XRECHNUNG": "xrechnung",
}


def _profile_mismatch(xmp_profile: str | None, chosen: ValidationSet) -> str | None:
    """The XMP ``fx:ConformanceLevel`` must name the profile the embedded XML declares."""
    if xmp_profile is None:
        return None  # schemas.pdf already reports the missing conformance level
    level = xmp_profile.strip().upper()
    if chosen.id.startswith("de.zugferd:1.0"):  # ZUGFeRD 1.0 profiles: BASIC, COMFORT, EXTENDED
        if level in {"BASIC", "COMFORT", "EXTENDED"}:
            return None
        return f"the XMP conformance level {xmp_profile!r} is not a ZUGFeRD 1.0 profile"
    wanted = _XMP_PROFILES.get(level)
    if wanted is None:
        return f"the XMP conformance level {xmp_profile!r} is not a Factur-X/ZUGFeRD profile"
    # XRechnung and Peppol are CIUS of EN 16931: an "EN 16931" level fits them too
    if wanted == "en16931" and chosen.id.startswith(("eu.cen.en16931:cii", "eu.peppol", "de.xrechnung")):
        return None
    if wanted in chosen.id:
        return None
    return (
        f"the XMP metadata declares profile {xmp_profile!r}, but the embedded XML declares "
        f"{chosen.title} ({chosen.id})"
    )


class _LayerFailed(Exception):
    """A layer could not run to completion (reported as ``error``, never as valid)."""


class _Unreadable(Exception):
    """The document cannot be validated at all (reported, exit code 2)."""
