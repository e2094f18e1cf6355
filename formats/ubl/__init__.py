"""UBL 2.1 adapter: canonical invoice ↔ UBL Invoice / CreditNote (EN 16931, Peppol, XRechnung)."""

from formats.ubl.profiles import EN16931, PEPPOL, PROFILES, XRECHNUNG, Profile, profile
from formats.ubl.write import prepare, to_tree, to_xml

__all__ = ["EN16931", "PEPPOL", "PROFILES", "XRECHNUNG", "Profile", "prepare", "profile", "to_tree", "to_xml"]
