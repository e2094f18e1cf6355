"""Signing and verifying documents: XAdES on XML (UBL, cXML), ASiC-E for CII, PAdES on PDF.

``keys.py`` loads a signing identity (private key, certificate, chain) from PKCS#12 or PEM
and checks it is fit to sign; the other modules sign and verify with it. Key material is
never logged and never part of an error message.

``sign`` and ``verify`` choose the signature format from the bytes, never from a file name
or a media type a client sent: a PDF gets a PAdES signature (an incremental update, so the
embedded Factur-X XML and the visible invoice stay byte for byte), a UBL or cXML invoice an
enveloped XAdES signature, and a CII invoice (whose schema has no room for a signature) an
ASiC-E container holding the untouched invoice and a detached XAdES signature; ZIP bytes
are verified as ASiC-E. The XAdES, ASiC and PAdES modules are imported on first use, so
verifying an XML invoice never loads the PDF stack.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from lxml import etree

from formats.errors import InvoiceInputError, ParseError, SigningError
from formats.signature.keys import SigningIdentity, load_pem, load_pkcs12
from formats.signature.report import SignatureResult, VerificationReport
from formats.signature.trust import TrustStore
from formats.xmlsafe import parse as parse_xml

if TYPE_CHECKING:
    from formats.signature.timestamp import Timestamper

__all__ = [
    "SignatureResult",
    "SigningIdentity",
    "TrustStore",
    "VerificationReport",
    "document_kind",
    "load_pem",
    "load_pkcs12",
    "sign",
    "verify",
]

_BOM = b"\xef\xbb\xbf"
_ZIP = b"PK\x03\x04"
CII_NAME = "invoice.xml"
"""The name a CII invoice gets inside its ASiC-E container unless the caller gives one."""


def _is_cii(data: bytes) -> bool:
    """Whether the XML's root is a CII invoice (unreadable XML: no, ``sign_xml`` says why)."""
    from formats.signature.xades import CII_ROOTS, MAX_XML_BYTES

    try:
        root = parse_xml(data, max_bytes=MAX_XML_BYTES)
    except ParseError:
        return False
    qname = etree.QName(root)
    return (qname.namespace, qname.localname) in CII_ROOTS


def document_kind(data: bytes) -> str:
    """``"pdf"``, ``"xml"`` or ``"zip"`` from the first bytes; ``InvoiceInputError`` for anything else."""
    if not data:
        raise InvoiceInputError("the document is empty")
    if data.startswith(_ZIP):
        return "zip"
    head = data[:1024].lstrip(b"\x00").removeprefix(_BOM).lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"<"):
        return "xml"
    raise InvoiceInputError(
        "the document is neither XML (UBL, CII, cXML), PDF nor an ASiC-E container (ZIP): only those can "
        "be signed or verified"
    )


def sign(
    data: bytes,
    identity: SigningIdentity,
    *,
    timestamper: Timestamper | None = None,
    signing_time: datetime | None = None,
    name: str | None = None,
) -> bytes:
    """The signed document: PAdES for a PDF, enveloped XAdES for UBL/cXML, ASiC-E for CII.

    A CII invoice comes back as an ASiC-E container (ZIP bytes) holding it unchanged as
    ``name`` (default ``invoice.xml``; see ``asic.valid_name``). ``SigningError`` when the
    identity may not sign, the document is already signed (an ASiC-E container) or ``name``
    is not a safe file name; ``InvoiceInputError`` when the bytes are none of these.
    """
    kind = document_kind(data)
    if kind == "pdf":
        from formats.signature.pades import sign_pdf

        return sign_pdf(data, identity, timestamper=timestamper, signing_time=signing_time)
    if kind == "zip":
        from formats.signature.asic import is_asic

        if is_asic(data):
            raise SigningError(
                "the document is an ASiC-E container: it is signed already; verify it, or sign the "
                "invoice it holds"
            )
        raise InvoiceInputError(
            "the document is a ZIP archive but not an ASiC-E container: it cannot be signed"
        )
    if _is_cii(data):
        from formats.signature.asic import sign_asic

        files = {name or CII_NAME: data}
        return sign_asic(files, identity, timestamper=timestamper, signing_time=signing_time)
    from formats.signature.xades import sign_xml

    return sign_xml(data, identity, timestamper=timestamper, signing_time=signing_time)


def verify(data: bytes, trust: TrustStore) -> VerificationReport:
    """Every signature in the document, checked against ``trust`` at its signing time."""
    kind = document_kind(data)
    if kind == "pdf":
        from formats.signature.pades import verify_pdf

        return verify_pdf(data, trust)
    if kind == "zip":
        from formats.signature.asic import verify_asic

        return verify_asic(data, trust)
    from formats.signature.xades import verify_xml

    return verify_xml(data, trust)
