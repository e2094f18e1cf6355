"""Factur-X / ZUGFeRD levels as data: XMP names, file names, relationships and guideline ids.

The Factur-X 1.0x specification (and ZUGFeRD 2.x, which shares it) fixes, per profile, the XMP
``fx:ConformanceLevel`` value and the ``/AFRelationship`` of the embedded XML: ``/Data`` for
MINIMUM and BASIC WL (the XML does not carry the whole invoice, the PDF is the legal document),
``/Alternative`` for BASIC, EN 16931, EXTENDED and XRECHNUNG (the XML is a full alternative
representation of the PDF).
"""

from __future__ import annotations

from dataclasses import dataclass

from formats.facturx.container import FACTURX_NS, ZUGFERD2_NS


@dataclass(frozen=True)
class Level:
    """One conformance level as the XMP spells it, and what it implies for the container."""

    xmp: str  # fx:ConformanceLevel
    relationship: str  # /AFRelationship of the invoice XML
    aliases: tuple[str, ...] = ()


LEVELS = (
    Level("MINIMUM", "/Data"),
    Level("BASIC WL", "/Data", ("BASICWL", "BASIC-WL", "BASIC_WL")),
    Level("BASIC", "/Alternative"),
    Level("EN 16931", "/Alternative", ("EN16931", "COMFORT")),
    Level("EXTENDED", "/Alternative"),
    Level("XRECHNUNG", "/Alternative"),
)
_BY_NAME = {key: lvl for lvl in LEVELS for key in (lvl.xmp, *lvl.aliases)}


def level(name: str) -> Level:
    """The level a caller names (``"en16931"``, ``"EN 16931"``, ``"basic wl"``...)."""
    wanted = " ".join(name.strip().upper().replace("_", " ").split())
    found = _BY_NAME.get(wanted) or _BY_NAME.get(wanted.replace(" ", ""))
    if found is None:
        known = ", ".join(lvl.xmp for lvl in LEVELS)
        raise ValueError(f"unknown Factur-X level {name!r}; known: {known}")
    return found


@dataclass(frozen=True)
class Flavor:
    """How the container names and describes the XML: file name, XMP namespace and version."""

    name: str
    file_name: str
    namespace: str
    version: str


FLAVORS = {
    "factur-x": Flavor("factur-x", "factur-x.xml", FACTURX_NS, "1.0"),
    # ZUGFeRD 2.0 naming; ZUGFeRD 2.1+ use the Factur-X names
    "zugferd": Flavor("zugferd", "zugferd-invoice.xml", ZUGFERD2_NS, "1.0"),
    # XRechnung in a ZUGFeRD 2.1.1+ / Factur-X 1.0.05+ container
    "xrechnung": Flavor("xrechnung", "xrechnung.xml", FACTURX_NS, "1.0"),
}


def level_for_guideline(guideline: str) -> str | None:
    """The XMP level a CII guideline id (BT-24) declares, or None when it is not a Factur-X,
    ZUGFeRD 2 or XRechnung id (ZUGFeRD 1.0 ids give ``BASIC``/``COMFORT``/``EXTENDED``)."""
    gid = guideline.strip().lower()
    if gid.startswith("urn:ferd:crossindustrydocument:invoice:1p0:"):
        return {"basic": "BASIC", "comfort": "COMFORT", "extended": "EXTENDED"}.get(gid.rsplit(":", 1)[1])
    if "xrechnung" in gid:
        return "XRECHNUNG"
    if gid.endswith(("1p0:minimum", "2p0:minimum")):
        return "MINIMUM"
    if gid.endswith(("1p0:basicwl", "2p0:basicwl")):
        return "BASIC WL"
    if gid.endswith(("1p0:basic", "2p0:basic")):
        return "BASIC"
    if gid.endswith(("1p0:extended", "2p0:extended")):
        return "EXTENDED"
    if gid == "urn:cen.eu:en16931:2017" or gid.endswith(("1p0:en16931", "2p0:comfort", "2p0:en16931")):
        return "EN 16931"
    return None


def agrees(xmp_level: str, guideline_level: str) -> bool:
    """Whether the XMP level fits the XML's: equal, or EN 16931 over a CIUS of it (XRechnung)."""
    declared = _BY_NAME.get(" ".join(xmp_level.strip().upper().split()))
    actual = _BY_NAME.get(guideline_level)
    if declared is None or actual is None:
        return xmp_level.strip().upper() == guideline_level
    return declared == actual or (declared.xmp == "EN 16931" and actual.xmp == "XRECHNUNG")
