"""Signing and verifying documents: XAdES on XML (UBL, CII, cXML), PAdES on PDF.

``keys.py`` loads a signing identity (private key, certificate, chain) from PKCS#12 or PEM
and checks it is fit to sign; the other modules sign and verify with it. Key material is
never logged and never part of an error message.

``sign`` and ``verify`` choose the signature format from the bytes, never from a file name
or a media type a client sent: a PDF gets a PAdES signature (an incremental update, so the
embedded Factur-X XML and the visible invoice stay byte for byte), an XML invoice an
enveloped XAdES signature. The XAdES and PAdES modules are imported on first use, so
verifying an XML invoice never loads the PDF stack.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from formats.errors import InvoiceInputError
from formats.signature.keys import SigningIdentity, load_pem, load_pkcs12
from formats.signature.report import SignatureResult, VerificationReport
from formats.signature.trust import TrustStore

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


def document_kind(data: bytes) -> str:
    """``"pdf"`` or ``"xml"`` from the first bytes; ``InvoiceInputError`` for anything else."""
    if not data:
        raise InvoiceInputError("the document is empty")
    head = data[:1024].lstrip(b"\x00").removeprefix(_BOM).lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"<"):
        return "xml"
    raise InvoiceInputError(
        "the document is neither XML (UBL, CII, cXML) nor PDF: only those can be signed or verified"
    )


def sign(
    data: bytes,
    identity: SigningIdentity,
    *,
    timestamper: Timestamper | None = None,
    signing_time: datetime | None = None,
) -> bytes:
    """The signed document: PAdES for a PDF, enveloped XAdES for XML.

    ``SigningError`` when the identity may not sign or the document is already signed;
    ``InvoiceInputError`` when the bytes are neither.
    """
    if document_kind(data) == "pdf":
        from formats.signature.pades import sign_pdf

        return sign_pdf(data, identity, timestamper=timestamper, signing_time=signing_time)
    from formats.signature.xades import sign_xml

    return sign_xml(data, identity, timestamper=timestamper, signing_time=signing_time)


def verify(data: bytes, trust: TrustStore) -> VerificationReport:
    """Every signature in the document, checked against ``trust`` at its signing time."""
    if document_kind(data) == "pdf":
        from formats.signature.pades import verify_pdf

        return verify_pdf(data, trust)
    from formats.signature.xades import verify_xml

    return verify_xml(data, trust)
