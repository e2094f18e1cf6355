"""CII D16B adapter: canonical invoice → Cross Industry Invoice (Factur-X profiles, XRechnung CII)."""

from formats.cii.profiles import (
    BASIC,
    BASIC_WL,
    EN16931,
    EXTENDED,
    MINIMUM,
    PROFILES,
    XRECHNUNG,
    Profile,
    profile,
    profile_for_guideline,
)
from formats.cii.write import prepare, to_tree, to_xml, unsupported

__all__ = [
    "BASIC",
    "BASIC_WL",
    "EN16931",
    "EXTENDED",
    "MINIMUM",
    "PROFILES",
    "XRECHNUNG",
    "Profile",
    "prepare",
    "profile",
    "profile_for_guideline",
    "to_tree",
    "to_xml",
    "unsupported",
]
