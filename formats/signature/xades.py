"""XAdES signatures on XML invoices: enveloped XAdES-BES and XAdES-T (XAdES 1.3.2 syntax).

``sign_xml`` puts one enveloped signature where each syntax expects it, so that the signed
document still validates against its own schema:

- UBL 2.1 Invoice/CreditNote: inside ``ext:UBLExtensions`` (the first child of the root),
  in ``sig:UBLDocumentSignatures/sac:SignatureInformation``, as the UBL Digital Signature
  Profile's enveloped XAdES profile says; ``ext:UBLExtensions`` exists only for this, and the
  enveloped-signature transform removes the signature itself from what it covers. Peppol BIS
  documents are refused: PEPPOL-EN16931-R008 (fatal) rejects the signature's empty elements.
- cXML: ``ds:Signature`` as the last child of ``cXML`` (its DTD: ``ds:Signature*``). The
  DOCTYPE cXML documents carry (an external ``SYSTEM`` identifier, nothing else) is set
  aside before parsing, never loaded, and written back unchanged.
- CII (``rsm:CrossIndustryInvoice``): refused. Its D16B schema has no element a signature
  could go in, so an enveloped one makes the invoice schema-invalid; the accepted practice
  is a detached signature next to it (ASiC-E, EN 319 162) or, for Factur-X, PAdES on the PDF.

Every signature signs three things: the whole document (``URI=""``), the SignedProperties
(SigningTime, and SigningCertificate: the SHA-256 digest, issuer and serial of the signer
certificate) and the KeyInfo holding the certificate chain; exclusive C14N and SHA-256
throughout. SigningCertificate, not EN 319 132-1's SigningCertificateV2: both the UBL 2.1 XSD
and the cXML DTD embed XAdES 1.3.2 (TS 101 903), which has no V2, and a V2 makes the signed
invoice invalid against its own schema. Verification accepts either. Ids are fixed
names, so the output depends only on the input, the identity and the signing time (and on
the randomness of ECDSA).

``verify_xml`` checks every signature it finds and reports instead of raising: digests and
signature value (signxml), the SigningCertificate(V2) digest against the KeyInfo certificate
(a swapped certificate fails), whether the signature covers the whole document, and the
certificate chain against the trust store *at the signing time* (the time-stamp's time when
there is one). Only same-document references are followed; nothing is fetched.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from lxml import etree
from signxml import (  # type: ignore[attr-defined]
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
    XMLSigner,
)
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidSignature, SignXMLException
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier  # type: ignore[attr-defined]

from formats.errors import GatewayError, InvoiceInputError, ParseError, SigningError
from formats.signature.keys import SigningIdentity, describe
from formats.signature.report import SignatureResult, VerificationReport
from formats.signature.timestamp import Timestamper, verify_token
from formats.signature.trust import TrustStore
from formats.xmlsafe import parse as parse_xml

__all__ = ["MAX_SIGNATURES", "MAX_XML_BYTES", "sign_xml", "verify_xml"]

MAX_XML_BYTES = 25 * 1024 * 1024
"""Largest document signed or verified: signxml copies the tree once per reference."""

MAX_SIGNATURES = 16
"""More signatures than this in one invoice is an attack, not a workflow."""

CLOCK_SKEW = timedelta(minutes=10)
"""How far the signer's clock may run ahead of the time-stamp authority's."""
MAX_REFERENCES = 16
MAX_CERTIFICATES = 16

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
SIG = "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2"
SAC = "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2"
SBC = "urn:oasis:names:specification:ubl:schema:xsd:SignatureBasicComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
UBL_ROOTS = {
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": "Invoice",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "CreditNote",
}
CII_ROOTS = {
    ("urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100", "CrossIndustryInvoice"),
    ("urn:ferd:CrossIndustryDocument:invoice:1p0", "CrossIndustryDocument"),
}

SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
ENVELOPED = SignatureConstructionMethod.enveloped.value
EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value
C14N_METHODS = {m.value for m in CanonicalizationMethod}
ALLOWED_TRANSFORMS = {ENVELOPED, *C14N_METHODS}

UBL_PROFILE = "urn:oasis:names:specification:ubl:dsig:enveloped:xades"
"""UBL Digital Signature Profile 1.0: the enveloped XAdES profile's ExtensionURI."""
PEPPOL_MARK = "urn:fdc:peppol.eu:"
"""In the CustomizationID of every Peppol BIS document (and of CIUS built on Peppol BIS)."""
UBL_SIGNATURE_ID = "urn:oasis:names:specification:ubl:signature:1"

SIGNATURE_ID = "xades-signature"
KEY_INFO_ID = "xades-key-info"
DOCUMENT_REFERENCE_ID = "xades-reference-document"
SIGNED_PROPERTIES_ID = "xades-signed-properties"
SIGNATURE_VALUE_ID = "xades-signature-value"
TIMESTAMP_ID = "xades-signature-timestamp"

# The DOCTYPE a cXML document carries: an external DTD by SYSTEM identifier on cxml.org and
# nothing else (no internal subset, so no entity can be declared). Set aside, never loaded.
_CXML_DOCTYPE = re.compile(
    rb"<!DOCTYPE\s+cXML\s+SYSTEM\s+\"https?://xml\.cxml\.org/schemas/cXML/[0-9.]{1,16}/[A-Za-z]{1,40}\.dtd\"\s*>",
    re.IGNORECASE,
)
_PROLOG = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]{0,200}\?>)?\s*")


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


SIGNED_SIGNATURE_PROPERTIES = f".//{_q(XADES, 'SignedProperties')}/{_q(XADES, 'SignedSignatureProperties')}"


# ---------------------------------------------------------------------------- reading


@dataclass
class _Document:
    root: etree._Element
    kind: str  # "UBL", "CII", "cXML", "XML"
    doctype: bytes | None  # the cXML DOCTYPE set aside, written back as is


def _read(data: bytes) -> _Document:
    """The document, parsed hardened; ``InvoiceInputError`` when it cannot be read at all."""
    if len(data) > MAX_XML_BYTES:
        raise InvoiceInputError(
            f"the XML document is {len(data)} bytes; the limit for signatures is {MAX_XML_BYTES}"
        )
    doctype: bytes | None = None
    prolog = _PROLOG.match(data)
    start = prolog.end() if prolog else 0
    found = _CXML_DOCTYPE.match(data, start)
    if found is not None:
        doctype = found.group(0)
        # Blank it out keeping the newlines, so that error lines still match the input.
        blank = b"".join(b"\n" if c == 0x0A else b" " for c in doctype)
        data = data[: found.start()] + blank + data[found.end() :]
    try:
        root = parse_xml(data, max_bytes=MAX_XML_BYTES)
    except ParseError as exc:
        raise InvoiceInputError(f"cannot read the XML document: {exc}") from None
    qname = etree.QName(root)
    if qname.namespace in UBL_ROOTS and qname.localname == UBL_ROOTS[qname.namespace]:
        kind = "UBL"
    elif (qname.namespace, qname.localname) in CII_ROOTS:
        kind = "CII"
    elif qname.namespace is None and qname.localname == "cXML":
        kind = "cXML"
    else:
        kind = "XML"
    if doctype is not None and kind != "cXML":
        raise InvoiceInputError(
            "cannot read the XML document: it has a cXML DOCTYPE but its root is not cXML; "
            "DOCTYPE declarations are refused (XXE and entity-expansion protection)"
        )
    return _Document(root, kind, doctype)


def _top_signatures(root: etree._Element) -> list[etree._Element]:
    """Every ds:Signature that is not itself inside a signature (counter-signatures are)."""
    return _elements(root, "//ds:Signature[not(ancestor::ds:Signature)]")


def _elements(node: etree._Element, path: str, **variables: str) -> list[etree._Element]:
    found = etree.XPath(path, namespaces={"ds": DS})(node, **variables)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


# ---------------------------------------------------------------------------- signing


class _Signer(XMLSigner):
    """signxml's enveloped signer plus the XAdES-BES qualifying properties, with fixed Ids.

    signxml's own XAdES signer stamps random Ids and the current time, and digests the
    SignedProperties without naming the canonicalization it used; this one names every
    transform, so verifiers do not fall back to inclusive C14N (which would pull in the
    UBL ancestors' namespaces and break the digest).
    """

    def __init__(self, identity: SigningIdentity, signing_time: datetime) -> None:
        algorithm = (
            SignatureMethod.RSA_SHA256 if identity.algorithm == "RSA" else SignatureMethod.ECDSA_SHA256
        )
        super().__init__(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=algorithm,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        self.identity = identity
        self.signing_time = signing_time
        self.signature_annotators.append(self._qualifying_properties)

    def _reference(
        self, signed_info: etree._Element, target: etree._Element, kind: str | None = None
    ) -> None:
        reference = etree.SubElement(signed_info, _q(DS, "Reference"), URI=f"#{target.get('Id')}")
        if kind is not None:
            reference.set("Type", kind)
        transforms = etree.SubElement(reference, _q(DS, "Transforms"))
        etree.SubElement(transforms, _q(DS, "Transform"), Algorithm=EXC_C14N)
        etree.SubElement(reference, _q(DS, "DigestMethod"), Algorithm=DigestAlgorithm.SHA256.value)
        value = etree.SubElement(reference, _q(DS, "DigestValue"))
        value.text = base64.b64encode(_sha256(etree.tostring(target, method="c14n", exclusive=True))).decode()

    def _qualifying_properties(self, signature: etree._Element, signing_settings: Any) -> None:
        signature.set("Id", SIGNATURE_ID)
        signed_info = signature.find(_q(DS, "SignedInfo"))
        key_info = signature.find(_q(DS, "KeyInfo"))
        signature_value = signature.find(_q(DS, "SignatureValue"))
        assert signed_info is not None
        assert key_info is not None
        assert signature_value is not None
        key_info.set("Id", KEY_INFO_ID)
        signature_value.set("Id", SIGNATURE_VALUE_ID)
        document_reference = signed_info.find(_q(DS, "Reference"))
        assert document_reference is not None
        document_reference.set("Id", DOCUMENT_REFERENCE_ID)

        obj = etree.SubElement(signature, _q(DS, "Object"))
        qualifying = etree.SubElement(
            obj, _q(XADES, "QualifyingProperties"), Target=f"#{SIGNATURE_ID}", nsmap={"xades": XADES}
        )
        signed = etree.SubElement(qualifying, _q(XADES, "SignedProperties"), Id=SIGNED_PROPERTIES_ID)
        signature_properties = etree.SubElement(signed, _q(XADES, "SignedSignatureProperties"))
        etree.SubElement(signature_properties, _q(XADES, "SigningTime")).text = _xml_time(self.signing_time)
        certificate = self.identity.certificate
        signing_certificate = etree.SubElement(signature_properties, _q(XADES, "SigningCertificate"))
        cert = etree.SubElement(signing_certificate, _q(XADES, "Cert"))
        cert_digest = etree.SubElement(cert, _q(XADES, "CertDigest"))
        etree.SubElement(cert_digest, _q(DS, "DigestMethod"), Algorithm=DigestAlgorithm.SHA256.value)
        der = certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(cert_digest, _q(DS, "DigestValue")).text = base64.b64encode(_sha256(der)).decode()
        issuer_serial = etree.SubElement(cert, _q(XADES, "IssuerSerial"))
        etree.SubElement(issuer_serial, _q(DS, "X509IssuerName")).text = certificate.issuer.rfc4514_string()
        etree.SubElement(issuer_serial, _q(DS, "X509SerialNumber")).text = str(certificate.serial_number)
        data_objects = etree.SubElement(signed, _q(XADES, "SignedDataObjectProperties"))
        data_format = etree.SubElement(
            data_objects, _q(XADES, "DataObjectFormat"), ObjectReference=f"#{DOCUMENT_REFERENCE_ID}"
        )
        etree.SubElement(data_format, _q(XADES, "MimeType")).text = "text/xml"

        self._reference(signed_info, signed, SIGNED_PROPERTIES_TYPE)
        self._reference(signed_info, key_info)


def _sha256(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def _xml_time(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _placeholder(parent: etree._Element) -> etree._Element:
    return etree.SubElement(parent, _q(DS, "Signature"), Id="placeholder", nsmap={"ds": DS})


def _place_ubl(root: etree._Element) -> etree._Element:
    """The placeholder inside ``ext:UBLExtensions`` (created as the root's first child)."""
    extensions = root.find(_q(EXT, "UBLExtensions"))
    if extensions is None:
        extensions = etree.Element(_q(EXT, "UBLExtensions"), nsmap={"ext": EXT})
        extensions.tail = root.text
        root.insert(0, extensions)
    elif root.index(extensions) != 0:
        raise SigningError("ext:UBLExtensions is not the first child of the UBL root; fix the document first")
    extension = etree.SubElement(extensions, _q(EXT, "UBLExtension"))
    etree.SubElement(extension, _q(EXT, "ExtensionURI")).text = UBL_PROFILE
    content = etree.SubElement(extension, _q(EXT, "ExtensionContent"))
    signatures = etree.SubElement(
        content, _q(SIG, "UBLDocumentSignatures"), nsmap={"sig": SIG, "sac": SAC, "sbc": SBC}
    )
    information = etree.SubElement(signatures, _q(SAC, "SignatureInformation"))
    etree.SubElement(information, _q(CBC, "ID")).text = UBL_SIGNATURE_ID
    return _placeholder(information)


def _refuse_peppol(root: etree._Element) -> None:
    customization = (root.findtext(_q(CBC, "CustomizationID")) or "").strip()
    if PEPPOL_MARK in customization:
        raise SigningError(
            f"a Peppol BIS document ({customization}) cannot carry an XML signature: rule "
            "PEPPOL-EN16931-R008 (fatal) forbids empty elements, and every ds:Signature has some "
            "(ds:DigestMethod, ds:Transform). In Peppol the AS4 transport signs the message; send the "
            "invoice unsigned"
        )


def sign_xml(
    data: bytes,
    identity: SigningIdentity,
    *,
    timestamper: Timestamper | None = None,
    signing_time: datetime | None = None,
) -> bytes:
    """``data`` (UBL or cXML) with an enveloped XAdES-BES signature, XAdES-T with a timestamper.

    Raises ``SigningError`` (nothing written) when the identity may not sign at
    ``signing_time`` (default: now), the document is already signed, or its syntax has no
    place for an enveloped signature (CII, unknown roots); ``InvoiceInputError`` when it
    cannot be read (not XML, a DOCTYPE, too large).
    """
    when = (signing_time or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    identity.check(when)
    document = _read(data)
    root = document.root
    if document.kind == "CII":
        raise SigningError(
            "a CII invoice cannot carry an enveloped XAdES signature: the UN/CEFACT D16B schema has no "
            "element for one, so the signed invoice would be schema-invalid. Sign the Factur-X/ZUGFeRD "
            "PDF with PAdES instead, or ship the CII file with a detached XAdES signature in an ASiC-E "
            "container (ETSI EN 319 162)"
        )
    if document.kind == "XML":
        qname = etree.QName(root)
        raise SigningError(
            f"cannot sign a {{{qname.namespace or ''}}}{qname.localname} document: XAdES signing is "
            "implemented for UBL 2.1 Invoice/CreditNote and cXML (CII: use PAdES on the Factur-X PDF)"
        )
    existing = _top_signatures(root)
    if existing:
        raise SigningError(
            f"the document is already signed ({len(existing)} ds:Signature, line {existing[0].sourceline}); "
            "a second enveloped signature would invalidate the first: verify it instead"
        )
    if document.kind == "UBL":
        _refuse_peppol(root)
        _place_ubl(root)
    else:
        _placeholder(root)
    signer = _Signer(identity, when)
    try:
        signed = signer.sign(root, key=identity.key, cert=[identity.certificate, *identity.chain])
    except SignXMLException as exc:
        raise SigningError(f"signxml could not sign the document: {exc}") from None
    signature = _top_signatures(signed)[0]
    if timestamper is not None:
        _add_timestamp(signature, timestamper)
    body = etree.tostring(signed, encoding="UTF-8")
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    if document.doctype is not None:
        head += document.doctype + b"\n"
    return head + body + b"\n"


def _add_timestamp(signature: etree._Element, timestamper: Timestamper) -> None:
    """XAdES-T: an RFC 3161 token over the exclusive C14N of ds:SignatureValue."""
    value = signature.find(_q(DS, "SignatureValue"))
    qualifying = signature.find(f"{_q(DS, 'Object')}/{_q(XADES, 'QualifyingProperties')}")
    assert value is not None
    assert qualifying is not None
    try:
        token = timestamper.token(etree.tostring(value, method="c14n", exclusive=True))
    except GatewayError:
        raise
    except Exception as exc:  # a TSA client failure of any kind: nothing is written
        raise SigningError(f"the timestamp authority could not timestamp the signature: {exc}") from None
    unsigned = etree.SubElement(qualifying, _q(XADES, "UnsignedProperties"))
    properties = etree.SubElement(unsigned, _q(XADES, "UnsignedSignatureProperties"))
    stamp = etree.SubElement(properties, _q(XADES, "SignatureTimeStamp"), Id=TIMESTAMP_ID)
    etree.SubElement(stamp, _q(DS, "CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(stamp, _q(XADES, "EncapsulatedTimeStamp")).text = base64.b64encode(token).decode()


# ---------------------------------------------------------------------------- verifying


class _Verifier(XAdESVerifier):
    """signxml's XAdES verifier, aimed at one signature of several (by document order)."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def _get_signature(self, root: etree._Element) -> etree._Element:
        signatures = _top_signatures(root)
        if self.index >= len(signatures):
            raise InvalidSignature("the signature is gone from the copied document")
        return signatures[self.index]


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
    )


def _certificates(signature: etree._Element, problems: list[str]) -> list[x509.Certificate]:
    found = signature.findall(f"{_q(DS, 'KeyInfo')}/{_q(DS, 'X509Data')}/{_q(DS, 'X509Certificate')}")
    certificates: list[x509.Certificate] = []
    for number, element in enumerate(found[:MAX_CERTIFICATES], 1):
        try:
            der = base64.b64decode("".join((element.text or "").split()), validate=True)
            certificates.append(x509.load_der_x509_certificate(der))
        except (binascii.Error, ValueError):
            problems.append(f"KeyInfo certificate {number} is not a DER X.509 certificate")
    if len(found) > MAX_CERTIFICATES:
        problems.append(f"KeyInfo carries {len(found)} certificates; only {MAX_CERTIFICATES} were read")
    if not found:
        problems.append("the signature carries no certificate in ds:KeyInfo/ds:X509Data")
    return certificates


def _signing_certificate(
    signature: etree._Element, certificates: list[x509.Certificate], problems: list[str]
) -> x509.Certificate | None:
    """The KeyInfo certificate the signed SigningCertificate(V2) digest names, if any."""
    cert = signature.find(
        f"{SIGNED_SIGNATURE_PROPERTIES}/{_q(XADES, 'SigningCertificateV2')}/{_q(XADES, 'Cert')}"
    )
    if cert is None:
        cert = signature.find(
            f"{SIGNED_SIGNATURE_PROPERTIES}/{_q(XADES, 'SigningCertificate')}/{_q(XADES, 'Cert')}"
        )
    if cert is None:
        problems.append("no xades:SigningCertificate(V2) in the signed properties: not a XAdES-BES signature")
        return None
    method = cert.find(f"{_q(XADES, 'CertDigest')}/{_q(DS, 'DigestMethod')}")
    value = cert.find(f"{_q(XADES, 'CertDigest')}/{_q(DS, 'DigestValue')}")
    algorithms: dict[str, hashes.HashAlgorithm] = {
        DigestAlgorithm.SHA256.value: hashes.SHA256(),
        DigestAlgorithm.SHA384.value: hashes.SHA384(),
        DigestAlgorithm.SHA512.value: hashes.SHA512(),
    }
    algorithm = algorithms.get(method.get("Algorithm", "") if method is not None else "")
    if algorithm is None or value is None:
        problems.append("the SigningCertificate digest is missing or uses an algorithm not accepted")
        return None
    try:
        expected = base64.b64decode("".join((value.text or "").split()), validate=True)
    except binascii.Error:
        problems.append("the SigningCertificate digest is not base64")
        return None
    serial = (cert.findtext(f"{_q(XADES, 'IssuerSerial')}/{_q(DS, 'X509SerialNumber')}") or "").strip()
    for certificate in certificates:
        if certificate.fingerprint(algorithm) == expected:
            if serial and serial != str(certificate.serial_number):
                problems.append(
                    f"the SigningCertificate names serial {serial[:60]} but its digest is that of a "
                    f"certificate with serial {certificate.serial_number}"
                )
            return certificate
    problems.append(
        "the SigningCertificate digest matches no certificate in ds:KeyInfo: the signer certificate "
        "was replaced or is missing"
    )
    return None


def _check_references(signature: etree._Element, problems: list[str]) -> bool:
    """Only same-document references with known transforms; True if one covers the whole document."""
    whole = False
    references = signature.findall(f"{_q(DS, 'SignedInfo')}/{_q(DS, 'Reference')}")
    if len(references) > MAX_REFERENCES:
        problems.append(
            f"the signature has {len(references)} references; at most {MAX_REFERENCES} are verified"
        )
    for number, reference in enumerate(references):
        uri = reference.get("URI")
        if uri is None or (uri and not uri.startswith("#")) or uri.startswith("#xpointer("):
            problems.append(
                f"reference {number} points outside the document ({uri!r}); external references are "
                "never fetched"
            )
        algorithms = [
            t.get("Algorithm") for t in reference.iterfind(f"{_q(DS, 'Transforms')}/{_q(DS, 'Transform')}")
        ]
        unknown = [a for a in algorithms if a not in ALLOWED_TRANSFORMS]
        if unknown:
            problems.append(
                f"reference {number} ({uri!r}) uses transforms not accepted: {', '.join(map(str, unknown))}"
            )
        if uri == "" and ENVELOPED in algorithms and not unknown:
            whole = True
    if not whole:
        problems.append(
            'no reference covers the whole document (URI="" with the enveloped-signature transform)'
        )
    return whole


def _reason(exc: Exception, signature: etree._Element) -> str:
    """A verification failure in words that name the reference or the check that failed."""
    text = str(exc)
    found = re.search(r"reference (\d+) \(([^)]*)\)", text)
    if isinstance(exc, InvalidDigest) and found:
        uri = found.group(2)
        what = {
            "": "the document",
            f"#{SIGNED_PROPERTIES_ID}": "the signed properties",
            f"#{KEY_INFO_ID}": "the certificate (KeyInfo)",
        }.get(uri, f"the element {uri}")
        if uri.startswith("#"):
            target = _elements(signature.getroottree().getroot(), "//*[@Id=$id]", id=uri[1:])
            if target and etree.QName(target[0]).localname == "SignedProperties":
                what = "the signed properties"
            elif target and etree.QName(target[0]).localname == "KeyInfo":
                what = "the certificate (KeyInfo)"
        return (
            f"reference {found.group(1)} (URI={uri!r}, {what}): digest mismatch, it was changed after signing"
        )
    if isinstance(exc, InvalidSignature):
        return f"the signature value does not verify with the signer certificate: {text}"
    return f"the signature is not intact: {text}"


def _xades_time(signature: etree._Element, problems: list[str]) -> datetime | None:
    element = signature.find(f"{SIGNED_SIGNATURE_PROPERTIES}/{_q(XADES, 'SigningTime')}")
    if element is None or not (element.text or "").strip():
        problems.append("no xades:SigningTime in the signed properties")
        return None
    text = (element.text or "").strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"xades:SigningTime {text!r} is not an xs:dateTime")
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _timestamp(signature: etree._Element, trust: TrustStore, result: SignatureResult) -> datetime | None:
    """The time a valid SignatureTimeStamp proves, if there is one (sets the level to XAdES-T)."""
    stamps = signature.findall(
        f".//{_q(XADES, 'UnsignedSignatureProperties')}/{_q(XADES, 'SignatureTimeStamp')}"
    )
    if not stamps:
        return None
    result.level = "XAdES-T"
    stamp = stamps[0]
    encapsulated = stamp.find(_q(XADES, "EncapsulatedTimeStamp"))
    method = stamp.find(_q(DS, "CanonicalizationMethod"))
    value = signature.find(_q(DS, "SignatureValue"))
    algorithm = (
        method.get("Algorithm") if method is not None else CanonicalizationMethod.CANONICAL_XML_1_0.value
    )
    if encapsulated is None or value is None or algorithm not in C14N_METHODS:
        result.problems.append(
            "the xades:SignatureTimeStamp is incomplete or uses an unknown canonicalization"
        )
        return None
    try:
        token = base64.b64decode("".join((encapsulated.text or "").split()), validate=True)
    except binascii.Error:
        result.problems.append("the xades:SignatureTimeStamp token is not base64")
        return None
    copy = etree.fromstring(etree.tostring(value), _hardened_parser())
    covered = etree.tostring(
        copy,
        method="c14n",
        exclusive="xml-exc-c14n" in algorithm,
        with_comments=algorithm.endswith("WithComments"),
    )
    verdict = verify_token(token, covered, trust)
    result.timestamp_time = verdict.time
    if not verdict.valid:
        result.problems.append(f"the signature time-stamp: {verdict.reason}")
        return None
    if verdict.time and result.signing_time and result.signing_time > verdict.time + CLOCK_SKEW:
        result.problems.append(
            f"the claimed SigningTime {result.signing_time:%Y-%m-%d %H:%M:%S} UTC is after the time-stamp "
            f"{verdict.time:%Y-%m-%d %H:%M:%S} UTC"
        )
    return verdict.time


def _one_signed_properties(signature: etree._Element) -> bool:
    """Exactly one SignedProperties below the signature, and it is the one SignedInfo signs."""
    found = signature.findall(f".//{_q(XADES, 'SignedProperties')}")
    references = [
        r
        for r in signature.findall(f"{_q(DS, 'SignedInfo')}/{_q(DS, 'Reference')}")
        if r.get("Type") == SIGNED_PROPERTIES_TYPE
    ]
    return (
        len(found) == 1
        and len(references) == 1
        and bool(found[0].get("Id"))
        and references[0].get("URI") == f"#{found[0].get('Id')}"
    )


def _verify_one(root: etree._Element, index: int, trust: TrustStore) -> SignatureResult:
    signature = _top_signatures(root)[index]
    result = SignatureResult(kind="XAdES", level="XAdES-BES")
    problems = result.problems
    certificates = _certificates(signature, problems)
    signer = _signing_certificate(signature, certificates, problems)
    shown = signer or (certificates[0] if certificates else None)  # who it claims, even when broken
    if shown is not None:
        result.signer_subject = shown.subject.rfc4514_string()
        result.signer_issuer = shown.issuer.rfc4514_string()
        result.signer_serial = shown.serial_number
    result.signing_time = _xades_time(signature, problems)
    result.covers_whole_document = _check_references(signature, problems)
    references_ok = not any("outside the document" in p or "transforms not accepted" in p for p in problems)
    if not _one_signed_properties(signature):
        # the signing time and certificate digest above are read from the SignedProperties
        # found first: with a second (unsigned) copy that could be an attacker's
        problems.append(
            "the signature does not carry exactly one xades:SignedProperties, the one its SignedInfo "
            "references: a second, unsigned copy (signature wrapping?) is refused"
        )
        references_ok = False

    if signer is not None and references_ok:
        # Cryptography only here: certificate validity is judged below, at the signing time,
        # against the trust store; so signxml checks the certificate inside its validity.
        inside = max(
            signer.not_valid_before_utc,
            min(result.signing_time or signer.not_valid_after_utc, signer.not_valid_after_utc),
        )
        config = XAdESSignatureConfiguration(expect_references=True, verification_time=inside)
        try:
            _Verifier(index).verify(root, x509_cert=signer, expect_config=config, parser=_hardened_parser())
            result.intact = True
        except (InvalidDigest, InvalidSignature, InvalidCertificate, SignXMLException) as exc:
            problems.append(_reason(exc, signature))
        except etree.DocumentInvalid as exc:
            problems.append(f"the ds:Signature is not valid against the XML-DSig/XAdES schema: {exc}")
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"the signature cannot be verified: {exc}")

    proven = _timestamp(signature, trust, result)
    if signer is not None:
        # A valid time-stamp proves when the signature existed; otherwise the signer's claim.
        at = proven or result.signing_time or datetime.now(UTC)
        others = [c for c in certificates if c is not signer]
        verdict = trust.check_chain(signer, others, at)
        result.trusted = verdict.trusted
        result.valid_at_signing_time = verdict.valid_at
        if verdict.reason:
            problems.append(f"the signer certificate {describe(signer)}: {verdict.reason}")
    return result


def verify_xml(data: bytes, trust: TrustStore) -> VerificationReport:
    """Every XAdES signature in ``data``, checked; ``InvoiceInputError`` only if unreadable."""
    document = _read(data)
    report = VerificationReport(document_kind=document.kind)
    signatures = _top_signatures(document.root)
    if len(signatures) > MAX_SIGNATURES:
        raise InvoiceInputError(
            f"the document carries {len(signatures)} signatures; at most {MAX_SIGNATURES} are verified"
        )
    for index in range(len(signatures)):
        report.signatures.append(_verify_one(document.root, index, trust))
    return report
