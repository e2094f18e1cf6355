"""XAdES on UBL and cXML: signatures verify, stay schema-valid, and every tampering shows.

The chain is always checked against ``TrustStore.from_pem(trust_pem())`` (the test root);
the RFC 3161 tests run the local responder from ``tests/tsa.py``.
"""

from __future__ import annotations

import base64
import copy
import re
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from lxml import etree

from formats.errors import InvoiceInputError, SigningError
from formats.invoice import load_json, parse_invoice
from formats.signature.report import SignatureResult, VerificationReport
from formats.signature.timestamp import Timestamper
from formats.signature.trust import TrustStore
from formats.signature.xades import sign_xml, verify_xml
from formats.ubl import EN16931, PEPPOL, to_xml
from schemas.artefacts import RuleStore
from schemas.engine import Engine
from tests.pki import NOW, Issued, pki, trust_pem
from tests.schemas.conformance.corpus import CORPUS, MISSING, available, data
from tests.tsa import tsa_server, tsa_url  # noqa: F401 - tsa_url is a fixture

REPO = Path(__file__).resolve().parents[3]
NS = {
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xades": "http://uri.etsi.org/01903/v1.3.2#",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "sig": "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2",
    "sac": "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
SIGNATURE_PATH = (
    "/*/ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/sig:UBLDocumentSignatures"
    "/sac:SignatureInformation/ds:Signature"
)
CXML_SAMPLE = "cxml/samples/officeluv-cxml/spec/fixtures/invoice_taxes_at_total.xml"
SIGNED_AT = NOW - timedelta(hours=1)
KEYS = [pytest.param(lambda: pki().rsa, id="rsa"), pytest.param(lambda: pki().ecdsa, id="ecdsa")]


@cache
def ubl(profile_name: str = "en16931") -> bytes:
    invoice = parse_invoice(load_json((REPO / "examples" / "de-domestic-b2b.json").read_bytes()))
    return to_xml(invoice, {"en16931": EN16931, "peppol": PEPPOL}[profile_name])


@cache
def signed_ubl(which: str) -> bytes:
    issued = {"rsa": pki().rsa, "ecdsa": pki().ecdsa}[which]
    return sign_xml(ubl(), issued.identity, signing_time=SIGNED_AT)


def trust() -> TrustStore:
    return TrustStore.from_pem(trust_pem())


def only(report: VerificationReport) -> SignatureResult:
    assert len(report.signatures) == 1
    return report.signatures[0]


def xpath(document: bytes, path: str) -> list[etree._Element]:
    found = etree.XPath(path, namespaces=NS)(etree.fromstring(document))
    assert isinstance(found, list)
    return [e for e in found if isinstance(e, etree._Element)]


def text_of(document: bytes, path: str) -> list[str]:
    found = etree.XPath(path, namespaces=NS)(etree.fromstring(document))
    assert isinstance(found, list)
    return [str(e) for e in found]


def child(element: etree._Element, path: str) -> etree._Element:
    found = element.find(path, NS)
    assert found is not None, path
    return found


def certificate_b64(issued: Issued) -> str:
    return base64.b64encode(issued.certificate.public_bytes(serialization.Encoding.DER)).decode()


# ------------------------------------------------------------------ sign and verify


@pytest.mark.parametrize("which", ["rsa", "ecdsa"])
def test_signed_ubl_verifies_and_is_trusted(which: str) -> None:
    report = verify_xml(signed_ubl(which), trust())
    result = only(report)
    assert report.document_kind == "UBL"
    assert (result.intact, result.covers_whole_document, result.trusted, result.valid_at_signing_time) == (
        True,
        True,
        True,
        True,
    )
    assert result.problems == []
    assert report.valid
    assert result.level == "XAdES-BES"
    assert result.signing_time == SIGNED_AT
    issued = pki().rsa if which == "rsa" else pki().ecdsa
    assert result.signer_serial == issued.certificate.serial_number
    assert result.signer_subject == issued.certificate.subject.rfc4514_string()


@pytest.mark.parametrize("which", ["rsa", "ecdsa"])
def test_signature_sits_in_the_ubl_extension_with_the_agreed_algorithms(which: str) -> None:
    document = signed_ubl(which)
    root = etree.fromstring(document)
    assert etree.QName(root[0]).localname == "UBLExtensions"  # the first child of the root
    (signature,) = xpath(document, SIGNATURE_PATH)
    assert text_of(document, "//ext:UBLExtension/ext:ExtensionURI/text()") == [
        "urn:oasis:names:specification:ubl:dsig:enveloped:xades"
    ]
    method = child(signature, "ds:SignedInfo/ds:SignatureMethod").get("Algorithm")
    expected = "rsa-sha256" if which == "rsa" else "ecdsa-sha256"
    assert method == f"http://www.w3.org/2001/04/xmldsig-more#{expected}"
    assert child(signature, "ds:SignedInfo/ds:CanonicalizationMethod").get("Algorithm") == (
        "http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    references = signature.findall("ds:SignedInfo/ds:Reference", NS)
    assert [r.get("URI") for r in references] == ["", "#xades-signed-properties", "#xades-key-info"]
    assert references[1].get("Type") == "http://uri.etsi.org/01903#SignedProperties"
    assert [t.get("Algorithm") for t in references[0].findall("ds:Transforms/ds:Transform", NS)] == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    ]
    digests = {m.get("Algorithm") for m in signature.iter("{http://www.w3.org/2000/09/xmldsig#}DigestMethod")}
    assert digests == {"http://www.w3.org/2001/04/xmlenc#sha256"}
    issued = pki().rsa if which == "rsa" else pki().ecdsa
    certificates = [c.text for c in signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)]
    assert [re.sub(r"\s", "", c or "") for c in certificates] == [
        certificate_b64(issued),
        certificate_b64(pki().intermediate),
    ]
    properties = child(signature, "ds:Object/xades:QualifyingProperties/xades:SignedProperties")
    assert properties.findtext("xades:SignedSignatureProperties/xades:SigningTime", namespaces=NS) == (
        SIGNED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    digest = properties.findtext(
        "xades:SignedSignatureProperties/xades:SigningCertificate/xades:Cert/xades:CertDigest/ds:DigestValue",
        namespaces=NS,
    )
    fingerprint = issued.certificate.fingerprint(hashes.SHA256())
    assert digest == base64.b64encode(fingerprint).decode()


def test_output_is_deterministic_apart_from_the_ecdsa_value() -> None:
    assert sign_xml(ubl(), pki().rsa.identity, signing_time=SIGNED_AT) == signed_ubl("rsa")
    again = sign_xml(ubl(), pki().ecdsa.identity, signing_time=SIGNED_AT)
    value = re.compile(rb"<ds:SignatureValue([^>]*)>[^<]*</ds:SignatureValue>")
    assert value.sub(b"", again) == value.sub(b"", signed_ubl("ecdsa"))
    assert value.search(again) is not None


@pytest.mark.parametrize("which", ["rsa", "ecdsa"])
def test_signed_ubl_still_validates_against_the_xsd_and_cen_rules(which: str) -> None:
    report = Engine().validate(signed_ubl(which), "signed.xml")
    assert report.error is None
    assert report.set_id == "eu.cen.en16931:ubl-invoice:1.3.16"
    assert [layer.validity.value for layer in report.layers][1:] == ["valid", "valid"]
    # The only item: CEN's warning that extensions are present (the signature lives in one).
    assert [(item.level.value, item.id) for item in report.items()] == [("warning", "UBL-CR-001")]
    assert report.valid


# ------------------------------------------------------------------ tampering


def test_a_changed_amount_breaks_the_document_digest() -> None:
    document = signed_ubl("rsa")
    tampered, count = re.subn(
        rb"(<cbc:PayableAmount currencyID=\"EUR\">)([0-9.]+)(<)", rb"\g<1>1.00\g<3>", document
    )
    assert count == 1
    result = only(verify_xml(tampered, trust()))
    assert not result.intact
    assert not result.valid
    assert any("reference 0" in p and "digest" in p and "the document" in p for p in result.problems), (
        result.problems
    )


@pytest.mark.parametrize("fix_the_digest", [False, True])
def test_a_swapped_certificate_fails(fix_the_digest: bool) -> None:
    document = signed_ubl("rsa")
    other = pki().tsa  # a valid RSA certificate from the same CA: only the binding can catch it
    swapped = document.replace(_pem_body(pki().rsa).encode(), _pem_body(other).encode())
    assert swapped != document
    if fix_the_digest:  # the forger also rewrites the SigningCertificate digest
        root = etree.fromstring(swapped)
        value = child(root, ".//xades:CertDigest/ds:DigestValue")
        fingerprint = other.certificate.fingerprint(hashes.SHA256())
        value.text = base64.b64encode(fingerprint).decode()
        swapped = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    result = only(verify_xml(swapped, trust()))
    assert not result.intact
    assert not result.valid
    if fix_the_digest:
        assert any("signed properties" in p or "signature value" in p for p in result.problems), (
            result.problems
        )
    else:
        assert any("SigningCertificate" in p for p in result.problems), result.problems


def _pem_body(issued: Issued) -> str:
    """The certificate as signxml writes it in ds:X509Certificate (PEM body lines)."""
    pem = issued.certificate.public_bytes(serialization.Encoding.PEM).decode()
    return "\n".join(pem.strip().splitlines()[1:-1])


def test_an_external_reference_is_reported_and_never_fetched() -> None:
    document = signed_ubl("rsa").replace(b'URI="#xades-key-info"', b'URI="http://127.0.0.1:9/cert"', 1)
    result = only(verify_xml(document, trust()))
    assert not result.valid
    assert any("outside the document" in p for p in result.problems)


# ------------------------------------------------------------------ trust and time


def test_an_untrusted_signer_is_intact_but_not_trusted() -> None:
    document = sign_xml(ubl(), pki().untrusted.identity, signing_time=SIGNED_AT)
    result = only(verify_xml(document, trust()))
    assert result.intact
    assert result.covers_whole_document
    assert not result.trusted
    assert not result.valid
    assert any("does not chain" in p for p in result.problems)


@pytest.mark.parametrize("issued", ["expired", "not_yet_valid", "no_signing_usage"])
def test_a_certificate_unfit_at_signing_time_is_refused(issued: str) -> None:
    with pytest.raises(SigningError, match=r"expired|not valid yet|may not sign"):
        sign_xml(ubl(), getattr(pki(), issued).identity)


def test_signed_while_valid_stays_valid_after_expiry() -> None:
    expired = pki().expired
    when = expired.certificate.not_valid_after_utc - timedelta(days=30)
    document = sign_xml(ubl(), expired.identity, signing_time=when)
    result = only(verify_xml(document, trust()))
    assert result.signing_time == when
    assert (result.intact, result.trusted, result.valid_at_signing_time) == (True, True, True)
    assert result.valid


def test_a_signing_time_after_expiry_is_refused() -> None:
    expired = pki().expired
    with pytest.raises(SigningError, match="expired"):
        sign_xml(
            ubl(), expired.identity, signing_time=expired.certificate.not_valid_after_utc + timedelta(days=1)
        )


# ------------------------------------------------------------------ refusals


def test_an_already_signed_document_is_refused() -> None:
    with pytest.raises(SigningError, match="already signed"):
        sign_xml(signed_ubl("rsa"), pki().rsa.identity)


def test_a_peppol_document_is_refused_with_the_reason() -> None:
    with pytest.raises(SigningError, match="PEPPOL-EN16931-R008"):
        sign_xml(ubl("peppol"), pki().rsa.identity)


def test_cii_is_refused_pointing_to_pades_and_asic() -> None:
    namespace = b"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    cii = b'<rsm:CrossIndustryInvoice xmlns:rsm="' + namespace + b'"/>'
    with pytest.raises(SigningError, match="PAdES") as refused:
        sign_xml(cii, pki().rsa.identity)
    assert "ASiC-E" in str(refused.value)


def test_an_unknown_root_is_refused() -> None:
    with pytest.raises(SigningError, match="Order"):
        sign_xml(b'<Order xmlns="urn:example"/>', pki().rsa.identity)


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol2;</Invoice>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd" [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<cXML payloadID="1" timestamp="2024-01-01T00:00:00Z">&x;</cXML>"""


@pytest.mark.parametrize(
    "hostile", [BOMB, XXE, b"not xml", b"\x00" * 10], ids=["bomb", "xxe", "text", "binary"]
)
def test_hostile_or_unreadable_input_is_refused(hostile: bytes) -> None:
    with pytest.raises(InvoiceInputError, match=r"cannot read|DOCTYPE"):
        sign_xml(hostile, pki().rsa.identity)
    with pytest.raises(InvoiceInputError):
        verify_xml(hostile, trust())


def test_an_unsigned_document_reports_no_signature() -> None:
    report = verify_xml(ubl(), trust())
    assert report.signatures == []
    assert not report.valid


# ------------------------------------------------------------------ cXML


@pytest.mark.skipif(not available(), reason=MISSING)
@pytest.mark.parametrize("issued", KEYS)
def test_a_cxml_invoice_signs_and_verifies(issued: object) -> None:
    original = data(CXML_SAMPLE)
    signer: Issued = issued()  # type: ignore[operator]
    document = sign_xml(original, signer.identity, signing_time=SIGNED_AT)
    doctype = re.search(rb"<!DOCTYPE[^>]*>", original)
    assert doctype is not None
    assert doctype.group(0) in document  # written back, never loaded
    root = etree.fromstring(document.replace(doctype.group(0), b""))
    assert etree.QName(root[-1]).localname == "Signature"  # cXML: ds:Signature* ends the envelope
    assert root[-1].find(".//xades:SigningCertificate/xades:Cert/xades:IssuerSerial", NS) is not None
    report = verify_xml(document, trust())
    assert report.document_kind == "cXML"
    assert only(report).valid, only(report).problems
    tampered = document.replace(b"<Header>", b"<Header><!-- x --><Extra/>", 1)
    assert not only(verify_xml(tampered, trust())).intact


@pytest.mark.skipif(not available(), reason=MISSING)
def test_signed_cxml_is_valid_against_its_dtd() -> None:
    document = sign_xml(data(CXML_SAMPLE), pki().rsa.identity, signing_time=SIGNED_AT)
    dtd = etree.DTD(str(CORPUS / "cxml" / "dtd" / "1.2.069" / "InvoiceDetail.dtd"))
    root = etree.fromstring(re.sub(rb"<!DOCTYPE[^>]*>", b"", document))
    assert dtd.validate(root), [str(e) for e in dtd.error_log][:5]  # type: ignore[attr-defined]


# ------------------------------------------------------------------ XAdES-T


@pytest.mark.parametrize("issued", KEYS)
def test_xades_t_carries_a_verified_time_stamp(tsa_url: str, issued: object) -> None:  # noqa: F811
    signer: Issued = issued()  # type: ignore[operator]
    document = sign_xml(ubl(), signer.identity, timestamper=Timestamper(tsa_url))
    result = only(verify_xml(document, trust()))
    assert result.level == "XAdES-T"
    assert result.timestamp_time is not None
    assert abs(result.timestamp_time - NOW) < timedelta(days=1)
    assert result.valid, result.problems
    assert len(xpath(document, "//xades:UnsignedSignatureProperties/xades:SignatureTimeStamp")) == 1
    assert Engine().validate(document, "signed-t.xml").valid


def test_a_time_stamp_over_another_signature_value_is_reported(tsa_url: str) -> None:  # noqa: F811
    first = sign_xml(ubl(), pki().rsa.identity, timestamper=Timestamper(tsa_url))
    other = sign_xml(ubl(), pki().rsa.identity, timestamper=Timestamper(tsa_url), signing_time=SIGNED_AT)
    token = re.compile(rb"<xades:EncapsulatedTimeStamp>[^<]*</xades:EncapsulatedTimeStamp>")
    foreign = token.search(other)
    assert foreign is not None
    mixed = token.sub(foreign.group(0).replace(b"\\", b"\\\\"), first)
    result = only(verify_xml(mixed, trust()))
    assert result.intact  # the time-stamp is unsigned: the signature itself is fine
    assert not result.valid
    assert any("time-stamp" in p and "imprint" in p for p in result.problems), result.problems


def test_an_untrusted_tsa_is_reported() -> None:
    with tsa_server(pki().untrusted) as url:
        document = sign_xml(ubl(), pki().rsa.identity, timestamper=Timestamper(url))
    result = only(verify_xml(document, trust()))
    assert result.level == "XAdES-T"
    assert not result.valid
    assert any("time-stamp" in p for p in result.problems)


# ------------------------------------------------------------------ Peppol


@pytest.fixture(scope="module")
def peppol_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    if not available():
        pytest.skip(MISSING)
    store = RuleStore(tmp_path_factory.mktemp("xades-rules"))
    for pack in (CORPUS / "rules", CORPUS / "rules-compiled"):
        assert store.install(pack).installed
    return Engine(store=store)


@pytest.mark.conformance
def test_peppol_rules_reject_any_enveloped_signature(peppol_engine: Engine) -> None:
    """Why Peppol documents are refused: R008 fires on the signature's empty elements."""
    report = peppol_engine.validate(signed_ubl("rsa"), "signed.xml", "eu.peppol.bis3:ubl-invoice:3.0.19")
    fatal = {item.id for item in report.items() if item.level.value in {"fatal", "error"}}
    assert "PEPPOL-EN16931-R008" in fatal


@pytest.mark.skipif(not available(), reason=MISSING)
def test_every_signature_is_reported() -> None:
    """A copied second signature: each one's digest now covers the other, so both fail."""
    document = sign_xml(data(CXML_SAMPLE), pki().rsa.identity, signing_time=SIGNED_AT)
    signature = re.search(rb"<ds:Signature .*</ds:Signature>", document, re.DOTALL)
    assert signature is not None
    doubled = document.replace(signature.group(0), signature.group(0) * 2)
    report = verify_xml(doubled, trust())
    assert len(report.signatures) == 2
    assert not any(result.intact for result in report.signatures)
    assert all(result.problems for result in report.signatures)
    assert not report.valid


def test_signing_time_after_the_time_stamp_is_reported(tsa_url: str) -> None:  # noqa: F811
    later = NOW + timedelta(days=2)
    document = sign_xml(ubl(), pki().rsa.identity, timestamper=Timestamper(tsa_url), signing_time=later)
    result = only(verify_xml(document, trust()))
    assert result.intact
    assert not result.valid
    assert any("after the time-stamp" in p for p in result.problems), result.problems


def test_an_unsigned_copy_of_the_signed_properties_is_refused() -> None:
    """Signature wrapping: a forged SignedProperties (another signing time) put before the real one.

    The signing time decides at which moment the certificate path is judged, so a forged
    one could make an expired certificate look valid; the verifier must not read it.
    """
    document = signed_ubl("rsa")
    root = etree.fromstring(document)
    found = etree.XPath(SIGNATURE_PATH, namespaces=NS)(root)
    assert isinstance(found, list)
    signature = found[0]
    assert isinstance(signature, etree._Element)
    real = child(root, ".//xades:SignedProperties")
    forged = copy.deepcopy(real)
    del forged.attrib["Id"]
    child(forged, ".//xades:SigningTime").text = "2001-01-01T00:00:00Z"
    wrapper = etree.Element(f"{{{NS['ds']}}}Object")
    etree.SubElement(wrapper, f"{{{NS['xades']}}}QualifyingProperties").append(forged)
    signature.insert(signature.index(child(signature, "ds:SignatureValue")) + 1, wrapper)
    wrapped = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    result = only(verify_xml(wrapped, trust()))
    assert not result.valid
    assert not result.intact
    assert any("exactly one xades:SignedProperties" in p for p in result.problems), result.problems
