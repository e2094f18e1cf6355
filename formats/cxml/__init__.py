"""cXML adapter (SAP Ariba): canonical invoice ↔ cXML InvoiceDetailRequest."""

from formats.cxml.read import from_cxml
from formats.cxml.write import CXML_VERSION, Credentials, Identity, payload_id, prepare, system_id, to_cxml

__all__ = [
    "CXML_VERSION",
    "Credentials",
    "Identity",
    "from_cxml",
    "payload_id",
    "prepare",
    "system_id",
    "to_cxml",
]
