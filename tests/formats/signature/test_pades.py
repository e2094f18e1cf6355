"""PAdES signing and verification of Factur-X and plain PDF invoices (formats.signature.pades).

The signed file must keep the original bytes as its prefix (incremental update), so the
PDF/A-3 structure and the embedded XML are exactly what they were; every kind of tampering
a buyer could meet must come back as an invalid signature with a reason, never a crash.
"""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from formats.errors import InvoiceInputError, SigningError
from formats.facturx import extract, to_facturx, to_pdf
from formats.invoice import Invoice, load_json, parse_invoice
from formats.signature import pades
from formats.signature.pades import sign_pdf, verify_pdf
from formats.signature.report import SignatureResult
from formats.signature.timestamp import Timestamper
from formats.signature.trust import TrustStore
from schemas.pdf import check_pdf
from tests.pki import Issued, pki, trust_pem
from tests.tsa import rogue_tsa, tsa_server

REPO = Path(__file__).resolve().parents[3]
NOW = datetime.now(UTC).replace(microsecond=0)


@cache
def invoice() -> Invoice:
    return parse_invoice(load_json((REPO / "examples" / "de-domestic-b2b.json").read_bytes()))


@cache
def facturx() -> bytes:
    return to_facturx(invoice(), "en16931")


@cache
def plain() -> bytes:
    return to_pdf(invoice())


@cache
def signed_facturx(which: str = "rsa") -> bytes:
    return sign_pdf(facturx(), getattr(pki(), which).identity, signing_time=NOW)


def trust() -> TrustStore:
    return TrustStore.from_pem(trust_pem())


def only(data: bytes) -> SignatureResult:
    report = verify_pdf(data, trust())
    assert report.document_kind == "PDF"
    assert len(report.signatures) == 1, report.to_dict()
    return report.signatures[0]


def signature_dict(data: bytes) -> bytes:
    """The bytes of the (last) signature dictionary, /Contents elided."""
    elided = re.sub(rb"<[0-9a-fA-F]{200,}>", b"()", data)
    objects = [
        m.group(0)
        for m in re.finditer(rb"\d+ \d+ obj\b.*?endobj", elided, re.S)
        if b"/ByteRange" in m.group(0)
    ]
    assert objects, "no signature dictionary"
    return objects[-1]


def cms_of(data: bytes) -> tuple[cms.ContentInfo, int, int]:
    """The CMS of the last signature and the span of its hex string in the file."""
    start, length = [int(v) for v in re.findall(rb"/ByteRange \[ *\d+ +(\d+) +(\d+)", data)[-1]]
    hex_start, hex_end = start + 1, length - 1  # inside the < >
    der = bytes.fromhex(data[hex_start:hex_end].decode())
    # the DER's own length ends it; the zero padding after it is ignored by load (strict off).
    # Stripping the zeros instead cut a signature whose last byte is 0x00 (1 in 256 keys).
    info = cms.ContentInfo.load(der)
    return info, hex_start, hex_end


# ---------------------------------------------------------------------------- signing


@pytest.mark.parametrize("which", ["rsa", "ecdsa"])
def test_signed_facturx_is_valid_and_keeps_everything(which: str) -> None:
    original = facturx()
    issued: Issued = getattr(pki(), which)
    signed = signed_facturx(which)

    assert signed.startswith(original)  # an incremental update: nothing before it moved
    assert len(signed) > len(original)
    assert [(i.id, i.message) for i in check_pdf(signed).items] == []
    assert extract(signed).xml == extract(original).xml
    with pikepdf.open(BytesIO(signed)) as pdf, pikepdf.open(BytesIO(original)) as before:
        assert pdf.Root.Metadata.read_bytes() == before.Root.Metadata.read_bytes()  # XMP untouched
        assert pdf.docinfo.Producer == before.docinfo.Producer  # Info still agrees with the XMP
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFA1"

    result = only(signed)
    assert result.valid, result.to_dict()
    assert result.kind == "PAdES"
    assert result.level == "PAdES-B-B"
    assert result.signer_subject == issued.certificate.subject.rfc4514_string()
    assert result.signer_issuer == issued.certificate.issuer.rfc4514_string()
    assert result.signer_serial == issued.certificate.serial_number
    assert result.signing_time == NOW
    assert result.timestamp_time is None
    assert result.problems == []


def test_signed_plain_pdf_is_valid() -> None:
    original = plain()
    signed = sign_pdf(original, pki().ecdsa.identity, reason="Rechnung", location="Berlin")
    assert signed.startswith(original)
    result = only(signed)
    assert result.valid, result.to_dict()
    sig = signature_dict(signed)
    assert b"/Reason (Rechnung)" in sig
    assert b"/Location (Berlin)" in sig


def test_signature_is_pades_baseline_with_signing_certificate_v2() -> None:
    signed = signed_facturx("rsa")
    sig = signature_dict(signed)
    assert b"/SubFilter /ETSI.CAdES.detached" in sig
    assert b"/Type /Sig" in sig
    info, _start, _end = cms_of(signed)
    signer = info["content"]["signer_infos"][0]
    assert signer["digest_algorithm"]["algorithm"].native == "sha256"
    attributes = {a["type"].native for a in signer["signed_attrs"]}
    assert "signing_certificate_v2" in attributes
    assert "signing_time" not in attributes  # PAdES baseline: the time is /M, not a CMS attribute
    expected = pki().rsa.certificate.fingerprint(hashes.SHA256())
    (essv2,) = [a for a in signer["signed_attrs"] if a["type"].native == "signing_certificate_v2"]
    assert essv2["values"][0]["certs"][0]["cert_hash"].native == expected


def test_the_signature_field_is_invisible_and_pdfa_friendly() -> None:
    signed = signed_facturx("ecdsa")
    with pikepdf.open(BytesIO(signed)) as pdf:
        fields = list(pdf.Root.AcroForm.Fields)
        assert len(fields) == 1
        widget = fields[0]
        assert widget.FT == "/Sig"
        assert str(widget.T) == pades.FIELD_NAME
        assert [float(v) for v in widget.Rect] == [0, 0, 0, 0]  # zero size: no appearance needed
        assert int(widget.F) & 4  # print flag, as PDF/A requires of every annotation
        assert "/NeedAppearances" not in pdf.Root.AcroForm
        assert "/OpenAction" not in pdf.Root
        assert "/AA" not in pdf.Root
    assert b"/JavaScript" not in signed[len(facturx()) :]


def test_signing_is_deterministic_in_the_prefix_and_reuses_the_signer() -> None:
    identity = pki().rsa.identity
    sign_pdf(plain(), identity)
    cached = pades._signer_for(identity)
    sign_pdf(plain(), identity)
    assert pades._signer_for(identity) is cached


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("which", "message"), [("expired", "expired"), ("not_yet_valid", "not valid yet")])
def test_certificate_out_of_validity_is_refused(which: str, message: str) -> None:
    with pytest.raises(SigningError, match=message):
        sign_pdf(facturx(), getattr(pki(), which).identity)


def test_signing_time_inside_validity_verifies_after_expiry() -> None:
    """An invoice signed while the certificate was valid stays validly signed (checked at /M)."""
    expired = pki().expired
    when = expired.certificate.not_valid_after_utc - timedelta(days=10)
    signed = sign_pdf(plain(), expired.identity, signing_time=when)
    result = only(signed)
    assert result.signing_time == when.replace(microsecond=0)
    assert result.valid_at_signing_time
    assert result.valid, result.to_dict()


def test_naive_signing_time_is_refused() -> None:
    with pytest.raises(SigningError, match="time zone"):
        sign_pdf(plain(), pki().rsa.identity, signing_time=datetime(2026, 1, 1))


def test_no_signing_usage_is_refused() -> None:
    with pytest.raises(SigningError, match="may not sign"):
        sign_pdf(plain(), pki().no_signing_usage.identity)


def test_already_signed_is_refused() -> None:
    with pytest.raises(SigningError, match="already signed"):
        sign_pdf(signed_facturx("rsa"), pki().ecdsa.identity)


def encrypted(data: bytes) -> bytes:
    with pikepdf.open(BytesIO(data)) as pdf:
        out = BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(user="", owner="owner", R=6))
        return out.getvalue()


def test_encrypted_pdf_is_refused() -> None:
    data = encrypted(plain())
    with pytest.raises(InvoiceInputError, match="encrypted"):
        sign_pdf(data, pki().rsa.identity)
    with pytest.raises(InvoiceInputError, match="encrypted"):
        verify_pdf(data, trust())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"<Invoice/>", "not a PDF"),
        (b"%PDF-1.7\n" + b"garbage " * 200, "damaged"),
    ],
)
def test_unreadable_input_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvoiceInputError, match=message):
        sign_pdf(data, pki().rsa.identity)
    with pytest.raises(InvoiceInputError, match=message):
        verify_pdf(data, trust())


def test_truncated_pdf_is_refused_for_signing() -> None:
    with pytest.raises(InvoiceInputError):
        sign_pdf(plain()[: len(plain()) // 2], pki().rsa.identity)


def test_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pades, "MAX_PDF_BYTES", 1000)
    with pytest.raises(InvoiceInputError, match="limit is 1000"):
        sign_pdf(plain(), pki().rsa.identity)
    with pytest.raises(InvoiceInputError, match="limit is 1000"):
        verify_pdf(plain(), trust())


# ---------------------------------------------------------------------------- verification


def test_unsigned_pdf_has_no_signature_and_is_not_valid() -> None:
    report = verify_pdf(facturx(), trust())
    assert report.signatures == []
    assert not report.valid


def test_untrusted_signer_is_intact_but_not_trusted() -> None:
    signed = sign_pdf(plain(), pki().untrusted.identity)
    result = only(signed)
    assert result.intact
    assert result.covers_whole_document
    assert not result.trusted
    assert not result.valid
    assert any("trust store" in p for p in result.problems), result.problems


def test_empty_trust_store_trusts_nothing() -> None:
    result = verify_pdf(signed_facturx("rsa"), TrustStore()).signatures[0]
    assert result.intact
    assert not result.trusted
    assert not result.valid


def tamper_xml(data: bytes) -> bytes:
    """Change the invoice total inside the compressed embedded-XML stream, in place."""
    with pikepdf.open(BytesIO(data)) as pdf:
        names = pdf.Root.Names.EmbeddedFiles.Names
        stream = names[1].EF.F
        compressed = stream.read_raw_bytes()
        xml = stream.read_bytes()
    total = re.search(rb"<ram:GrandTotalAmount>(\d)", xml)
    assert total is not None
    digit = total.group(1)
    forged = xml[: total.start(1)] + (b"9" if digit != b"9" else b"8") + xml[total.end(1) :]
    assert data.count(compressed) == 1
    for level in range(9, -1, -1):
        again = zlib.compress(forged, level)
        if len(again) <= len(compressed):  # the zlib stream ends itself; the rest is ignored padding
            again += b"\n" * (len(compressed) - len(again))
            return data.replace(compressed, again)
    raise AssertionError("could not recompress the forged XML into the same space")


def test_changed_embedded_xml_is_detected() -> None:
    signed = signed_facturx("rsa")
    forged = tamper_xml(signed)
    assert len(forged) == len(signed)
    assert extract(forged).xml != extract(signed).xml  # a reader would see the forged total
    result = only(forged)
    assert not result.intact
    assert not result.valid
    assert any("digest" in p for p in result.problems), result.problems


def test_one_flipped_byte_in_the_signed_range_is_detected() -> None:
    signed = bytearray(signed_facturx("ecdsa"))
    position = signed.index(b"/Title (") + 9
    signed[position] ^= 0x01
    result = only(bytes(signed))
    assert not result.intact
    assert not result.valid


def add_annotation(data: bytes) -> bytes:
    """An incremental update appended after the signature: a text annotation on page 1."""
    writer = IncrementalPdfFileWriter(BytesIO(data))
    page = writer.root["/Pages"]["/Kids"][0]
    annotation = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/FreeText"),
                generic.pdf_name("/Rect"): generic.ArrayObject(map(generic.NumberObject, [50, 50, 300, 80])),
                generic.pdf_name("/Contents"): generic.TextStringObject("Bitte auf Konto 999 zahlen"),
                generic.pdf_name("/F"): generic.NumberObject(4),
            }
        )
    )
    page_object = page.get_object()
    annots = page_object.get("/Annots", generic.ArrayObject())
    page_object["/Annots"] = generic.ArrayObject([*annots, annotation])
    writer.update_container(page_object)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_update_appended_after_signing_is_reported() -> None:
    signed = signed_facturx("rsa")
    changed = add_annotation(signed)
    assert changed.startswith(signed)
    result = only(changed)
    assert result.intact  # the signed revision itself is unchanged
    assert not result.covers_whole_document
    assert not result.valid
    assert any("changed after signing: objects" in p for p in result.problems), result.problems


def test_update_with_pypdf_is_reported() -> None:
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import FreeText

    signed = signed_facturx("ecdsa")
    writer = PdfWriter(BytesIO(signed), incremental=True)
    writer.add_annotation(0, FreeText(text="paid", rect=(50, 50, 200, 80)))
    out = BytesIO()
    writer.write(out)
    changed = out.getvalue()
    assert PdfReader(BytesIO(changed)).pages[0]["/Annots"]
    result = only(changed)
    assert not result.covers_whole_document
    assert not result.valid


def forged_certificate(real: x509.Certificate) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """Same subject, issuer and serial as ``real``, another key, signed by a stranger."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.issuer)
        .public_key(key.public_key())
        .serial_number(real.serial_number)
        .not_valid_before(real.not_valid_before_utc)
        .not_valid_after(real.not_valid_after_utc)
    )
    return builder.sign(key, hashes.SHA256()), key


def swap_certificate(data: bytes, replacement: x509.Certificate, original: x509.Certificate) -> bytes:
    info, start, end = cms_of(data)
    signed_data = info["content"]
    new_der = asn1_x509.Certificate.load(replacement.public_bytes(serialization.Encoding.DER))
    old_der = original.public_bytes(serialization.Encoding.DER)
    certificates = [
        cms.CertificateChoices(name="certificate", value=new_der) if c.chosen.dump() == old_der else c
        for c in signed_data["certificates"]
    ]
    signed_data["certificates"] = cms.CertificateSet(certificates)
    der: bytes = info.dump(force=True)
    hex_value = der.hex().encode()
    assert len(hex_value) <= end - start
    return data[:start] + hex_value.ljust(end - start, b"0") + data[end:]


def test_swapped_certificate_is_detected() -> None:
    signed = signed_facturx("rsa")
    real = pki().rsa.certificate
    forged, _key = forged_certificate(real)
    swapped = swap_certificate(signed, forged, real)
    result = only(swapped)
    assert not result.valid
    assert not result.intact
    assert any("substituted certificate" in p for p in result.problems), result.problems


def test_swapped_for_another_trusted_certificate_is_detected() -> None:
    """The other certificate chains to the same root, but did not make this signature."""
    signed = signed_facturx("rsa")
    swapped = swap_certificate(signed, pki().ecdsa.certificate, pki().rsa.certificate)
    result = only(swapped)
    assert not result.valid
    assert not result.intact
    assert any("not in the signature" in p for p in result.problems), result.problems


def test_garbage_in_the_signature_contents_is_reported_not_raised() -> None:
    signed = signed_facturx("rsa")
    _info, start, end = cms_of(signed)
    broken = signed[:start] + b"30" + b"ab" * ((end - start - 2) // 2) + signed[end:]
    result = only(broken)
    assert not result.valid
    assert any("damaged" in p for p in result.problems), result.problems


# ---------------------------------------------------------------------------- PAdES B-T


def test_timestamped_signature_is_b_t() -> None:
    with tsa_server() as url:
        timestamper = Timestamper(url, timeout=5)
        signed = sign_pdf(facturx(), pki().ecdsa.identity, timestamper=timestamper)
        again = sign_pdf(plain(), pki().rsa.identity, timestamper=timestamper)
    assert signed.startswith(facturx())
    assert [(i.id, i.message) for i in check_pdf(signed).items] == []
    for data in (signed, again):
        result = only(data)
        assert result.level == "PAdES-B-T"
        assert result.timestamp_time is not None
        assert abs(result.timestamp_time - datetime.now(UTC)) < timedelta(minutes=5)
        assert result.valid, result.to_dict()
    info, _start, _end = cms_of(signed)
    unsigned = {a["type"].native for a in info["content"]["signer_infos"][0]["unsigned_attrs"]}
    assert "signature_time_stamp_token" in unsigned


def test_failing_tsa_refuses_to_sign() -> None:
    with tsa_server(mode="reject") as url, pytest.raises(SigningError, match="timestamp"):
        sign_pdf(plain(), pki().rsa.identity, timestamper=Timestamper(url, timeout=5))


def test_timestamp_from_an_untrusted_authority_is_reported() -> None:
    with tsa_server(rogue_tsa()) as url:
        signed = sign_pdf(plain(), pki().rsa.identity, timestamper=Timestamper(url, timeout=5))
    result = only(signed)
    assert result.level == "PAdES-B-T"
    assert result.intact
    assert not result.valid
    assert any("timestamp authority is not trusted" in p for p in result.problems), result.problems


def test_a_later_signature_by_someone_else_keeps_the_first_valid() -> None:
    """A second signature in its own field is an allowed change; anything else is not."""
    signed = signed_facturx("rsa")
    issued = pki().ecdsa
    der = serialization.Encoding.DER
    cosigner = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(issued.certificate.public_bytes(der)),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            issued.key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c.public_bytes(der)) for c in issued.chain]
        ),
    )
    meta = signers.PdfSignatureMetadata(
        field_name="Buyer", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    both = signers.PdfSigner(meta, cosigner).sign_pdf(IncrementalPdfFileWriter(BytesIO(signed))).getvalue()
    report = verify_pdf(both, trust())
    assert [s.signer_subject for s in report.signatures] == [
        pki().rsa.certificate.subject.rfc4514_string(),
        issued.certificate.subject.rfc4514_string(),
    ]
    assert report.valid, report.to_dict()
    assert all(s.covers_whole_document for s in report.signatures)
