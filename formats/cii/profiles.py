"""CII output profiles as data: Factur-X 1.0x MINIMUM to EXTENDED, and XRechnung 3.0 CII.

A profile says which guideline (BT-24) and business process (BT-23) to write, which
validation sets check the output, whether it carries invoice lines at all, which business
terms it can carry and which it requires beyond EN 16931. The term sets follow the
per-profile Factur-X 1.09 XSDs (a test checks every set against its XSD): an invoice with
a term outside its profile is refused before any XML is produced, naming the term, unless
the caller asks for it to be left out (the PDF then shows it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from formats.invoice.model import Invoice
from formats.invoice.national import GERMAN_RULES
from formats.invoice.terms import TERMS

PEPPOL_BILLING = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


@dataclass(frozen=True)
class Requirement:
    term: str
    rule: str
    path: str
    message: str
    met: Callable[[Invoice], bool]


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    guideline_id: str
    facturx_level: str
    validation_sets: tuple[str, ...]
    carries_lines: bool
    terms: frozenset[str]
    business_process: str | None = None
    requirements: tuple[Requirement, ...] = ()
    # Factur-X warns on an empty ram:ApplicableHeaderTradeDelivery (PEPPOL-EN16931-R008) and
    # asks for "at least the country of delivery (BT-80) for technical reasons" (BR-FX-EN-04):
    # with no delivery information at all, the buyer's country is written as BT-80.
    delivery_country_fallback: bool = False
    # EXTENDED checks each VAT breakdown against the lines and allowances with the same
    # exemption reason (BR-FXEXT-*-08): their category carries the breakdown's reason too.
    item_exemption_reasons: bool = False
    # Terms the profile's XSD has an element for but its Schematron reports "not used in the
    # given context" (a report without a rule id, not an error): never written for an invoice
    # issued here, but written back for a received document that states them, as stated.
    received_terms: frozenset[str] = frozenset()

    @property
    def scope_rule(self) -> str:
        """The rule id a term outside the profile is reported under."""
        return f"CII-PROFILE-{self.name.upper()}"

    def carries(self, term: str) -> bool:
        return term in self.terms


def _ids(text: str) -> frozenset[str]:
    return frozenset(text.split())


ALL_TERMS = frozenset(TERMS)

# Factur-X BASIC: EN 16931 without the terms its XSD has no element for.
_NOT_IN_BASIC = _ids(
    """BG-6 BG-9 BG-18 BG-24 BG-32 BT-7 BT-11 BT-14 BT-15 BT-17 BT-18 BT-18-1 BT-33 BT-41 BT-42
    BT-43 BT-56 BT-57 BT-58 BT-82 BT-85 BT-86 BT-87 BT-88 BT-114 BT-122 BT-123 BT-124 BT-125
    BT-125-1 BT-125-2 BT-128 BT-128-1 BT-132 BT-133 BT-154 BT-155 BT-156 BT-158 BT-158-1 BT-158-2
    BT-159 BT-160 BT-161"""
)


# BG-25 and everything inside it: BASIC WL and MINIMUM carry no lines by definition.
def _is_line_term(term: str) -> bool:
    kind, number = term.split("-")[:2]
    return 25 <= int(number) <= 32 if kind == "BG" else 126 <= int(number) <= 161


LINE_TERMS = frozenset(t for t in TERMS if _is_line_term(t))
# ... and those its XSD has but its Schematron marks "not used in the given context": the
# buyer trading name, and the percentage and base amount of line allowances and charges.
_NOT_USED_IN_BASIC = _ids("BT-45 BT-137 BT-138 BT-142 BT-143")
_BASIC_TERMS = ALL_TERMS - _NOT_IN_BASIC - _NOT_USED_IN_BASIC
_BASICWL_TERMS = _BASIC_TERMS - LINE_TERMS
# MINIMUM's XSD also has the buyer's address and tax registration, which its Schematron
# marks "not used", and a second TaxTotalAmount without the currency code (BT-6) it needs.
_MINIMUM_TERMS = _ids(
    """BG-2 BG-4 BG-5 BG-7 BG-22 BT-1 BT-2 BT-3 BT-5 BT-10 BT-13 BT-23 BT-24 BT-27 BT-30
    BT-30-1 BT-31 BT-32 BT-40 BT-44 BT-47 BT-47-1 BT-109 BT-110 BT-112 BT-115"""
)

# MINIMUM's XSD has the buyer's country (its address is CountryID only) and tax registration
_MINIMUM_RECEIVED = _ids("BG-8 BT-48 BT-55")

_FX_VERSION = "1.09"


def _facturx_set(level: str) -> str:
    return f"fr.factur-x:{level}:{_FX_VERSION}"


MINIMUM = Profile(
    name="minimum",
    title="Factur-X MINIMUM",
    guideline_id="urn:factur-x.eu:1p0:minimum",
    facturx_level="minimum",
    validation_sets=(_facturx_set("minimum"),),
    carries_lines=False,
    terms=_MINIMUM_TERMS,
    received_terms=_MINIMUM_RECEIVED,
)

BASIC_WL = Profile(
    name="basicwl",
    title="Factur-X BASIC WL",
    guideline_id="urn:factur-x.eu:1p0:basicwl",
    facturx_level="basicwl",
    validation_sets=(_facturx_set("basicwl"),),
    carries_lines=False,
    terms=_BASICWL_TERMS,
    received_terms=_NOT_USED_IN_BASIC - LINE_TERMS,
    delivery_country_fallback=True,
)

BASIC = Profile(
    name="basic",
    title="Factur-X BASIC",
    guideline_id="urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
    facturx_level="basic",
    validation_sets=(_facturx_set("basic"),),
    carries_lines=True,
    terms=_BASIC_TERMS,
    received_terms=_NOT_USED_IN_BASIC,
    delivery_country_fallback=True,
)

EN16931 = Profile(
    name="en16931",
    title="Factur-X EN16931 (CEN core)",
    guideline_id="urn:cen.eu:en16931:2017",
    facturx_level="en16931",
    validation_sets=(_facturx_set("en16931"), "eu.cen.en16931:cii:1.3.16"),
    carries_lines=True,
    terms=ALL_TERMS,
    delivery_country_fallback=True,
)

EXTENDED = Profile(
    name="extended",
    title="Factur-X EXTENDED",
    guideline_id="urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
    facturx_level="extended",
    validation_sets=(_facturx_set("extended"),),
    carries_lines=True,
    terms=ALL_TERMS,
    delivery_country_fallback=True,
    item_exemption_reasons=True,
)


def _electronic_address(party: str) -> Requirement:
    term, rule = ("BT-34", "PEPPOL-EN16931-R020") if party == "seller" else ("BT-49", "PEPPOL-EN16931-R010")
    return Requirement(
        term,
        rule,
        f"$.{party}.electronic_address",
        f"XRechnung needs the {party} electronic address",
        lambda inv: getattr(inv, party).electronic_address is not None,
    )


XRECHNUNG = Profile(
    name="xrechnung",
    title="XRechnung 3.0 (CII)",
    guideline_id="urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
    facturx_level="en16931",
    validation_sets=("de.xrechnung:cii:3.0.2",),
    carries_lines=True,
    terms=ALL_TERMS,
    business_process=PEPPOL_BILLING,
    requirements=(
        Requirement(
            "BT-10",
            "BR-DE-15",
            "$.buyer_reference",
            "XRechnung needs the buyer reference (the Leitweg-ID)",
            lambda inv: inv.buyer_reference is not None,
        ),
        # BR-DE-2 (the seller contact group) is reported through BR-DE-5/6/7, which name the term
        *(
            Requirement(rule.term, f"BR-DE-{rule.number}", rule.path, f"XRechnung: {rule.what}", rule.met)
            for rule in GERMAN_RULES
            if rule.number != 2
        ),
        _electronic_address("seller"),
        _electronic_address("buyer"),
    ),
)

PROFILES = {p.name: p for p in (MINIMUM, BASIC_WL, BASIC, EN16931, EXTENDED, XRECHNUNG)}

# Guideline ids (BT-24) of earlier releases that mean the same profile: ZUGFeRD 2.0/2.1
# (urn:zugferd.de:2p0/2p1), Factur-X 1.0 with the older BASIC id, XRechnung 1.2 to 2.3.
_OLDER_GUIDELINES = {
    "urn:zugferd.de:2p0:minimum": MINIMUM,
    "urn:zugferd.de:2p0:basicwl": BASIC_WL,
    "urn:zugferd.de:2p0:basic": BASIC,
    "urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:basic": BASIC,
    "urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic": BASIC,
    "urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended": EXTENDED,
    "urn:zugferd.de:2p1:minimum": MINIMUM,
    "urn:zugferd.de:2p1:basicwl": BASIC_WL,
    "urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p1:basic": BASIC,
    "urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p1:extended": EXTENDED,
    "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended": EXTENDED,
    "urn:cen.eu:en16931:2017:compliant:xoev-de:kosit:standard:xrechnung_1.2": XRECHNUNG,
    "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_1.2": XRECHNUNG,
    "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_2.0": XRECHNUNG,
    "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_2.1": XRECHNUNG,
    "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_2.2": XRECHNUNG,
    "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_2.3": XRECHNUNG,
}
_BY_GUIDELINE = {p.guideline_id: p for p in PROFILES.values()} | _OLDER_GUIDELINES


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown CII profile {name!r}; choose one of {', '.join(PROFILES)}") from None


def profile_for_guideline(guideline_id: str) -> Profile | None:
    """The profile a CII document's BT-24 names, current or from an earlier release; else None."""
    return _BY_GUIDELINE.get(guideline_id.strip())
