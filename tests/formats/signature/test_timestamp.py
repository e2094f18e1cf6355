"""RFC 3161 timestamps against a real local TSA: tokens, their checks, and every way a TSA fails."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import timedelta

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from formats.errors import SigningError
from formats.signature.timestamp import Timestamper, verify_token
from formats.signature.trust import TrustStore
from tests.pki import NOW, pki, trust_pem
from tests.tsa import Mode, ecdsa_tsa, rogue_tsa, sign_tst_info, tsa_server, tsa_url

__all__ = ["tsa_url"]  # the fixture, imported so pytest finds it here

DATA = b"<SignatureValue>c2lnbmF0dXJl</SignatureValue>"


@pytest.fixture(scope="module")
def trust() -> TrustStore:
    return TrustStore.from_pem(trust_pem())


def _imprint(data: bytes) -> tsp.MessageImprint:
    return tsp.MessageImprint(
        {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(data).digest()}
    )


def test_token_round_trip_is_intact_and_trusted(tsa_url: str, trust: TrustStore) -> None:
    token = Timestamper(tsa_url, timeout=5).token(DATA)
    content = cms.ContentInfo.load(token)
    assert content["content_type"].native == "signed_data"
    info = content["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(DATA).digest()
    assert info["nonce"].native  # our nonce came back (the client checks it equals ours)

    verdict = verify_token(token, DATA, trust)
    assert (verdict.intact, verdict.trusted, verdict.reason) == (True, True, None)
    assert verdict.valid
    assert verdict.time is not None
    assert abs(verdict.time - NOW) < timedelta(hours=1)


def test_each_request_gets_its_own_nonce(tsa_url: str) -> None:
    stamper = Timestamper(tsa_url, timeout=5)
    nonces = {
        cms.ContentInfo.load(stamper.token(DATA))["content"]["encap_content_info"]["content"]
        .parsed["nonce"]
        .native
        for _ in range(3)
    }
    assert len(nonces) == 3


def test_altered_data_is_not_intact(tsa_url: str, trust: TrustStore) -> None:
    token = Timestamper(tsa_url).token(DATA)
    verdict = verify_token(token, DATA + b" ", trust)
    assert not verdict.intact
    assert not verdict.trusted
    assert verdict.reason is not None
    assert "imprint" in verdict.reason


def test_tsa_under_another_root_is_intact_but_not_trusted(trust: TrustStore) -> None:
    with tsa_server(rogue_tsa()) as url:
        token = Timestamper(url).token(DATA)
    verdict = verify_token(token, DATA, trust)
    assert verdict.intact
    assert not verdict.trusted
    assert verdict.reason is not None
    assert "Unrelated Root CA" in verdict.reason


def test_ecdsa_tsa_is_verified(trust: TrustStore) -> None:
    with tsa_server(ecdsa_tsa()) as url:
        token = Timestamper(url).token(DATA)
    assert verify_token(token, DATA, trust).valid


def test_certificate_without_timestamping_usage_is_not_trusted(trust: TrustStore) -> None:
    token = sign_tst_info(pki().rsa, _imprint(DATA), 7).dump()
    verdict = verify_token(token, DATA, trust)
    assert verdict.intact
    assert not verdict.trusted
    assert verdict.reason is not None
    assert "timeStamping" in verdict.reason


def test_time_outside_the_tsa_certificate_validity_is_not_trusted(trust: TrustStore) -> None:
    token = sign_tst_info(pki().tsa, _imprint(DATA), 7, at=NOW - timedelta(days=30)).dump()
    verdict = verify_token(token, DATA, trust)
    assert verdict.intact
    assert not verdict.trusted
    assert verdict.time == NOW - timedelta(days=30)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (sign_tst_info(pki().tsa, _imprint(DATA), 7, corrupt=True).dump(), "does not verify"),
        (sign_tst_info(pki().tsa, _imprint(DATA), 7, cert_req=False).dump(), "carries no certificate"),
        (b"\x30\x03\x02\x01\x01", "not a"),
        (b"not DER at all", "not a timestamp token"),
    ],
    ids=["bad-signature", "no-certificate", "not-content-info", "garbage"],
)
def test_broken_tokens_are_reported_not_raised(token: bytes, reason: str, trust: TrustStore) -> None:
    verdict = verify_token(token, DATA, trust)
    assert (verdict.intact, verdict.trusted) == (False, False)
    assert verdict.reason is not None
    assert reason in verdict.reason


def test_a_token_signed_by_another_certificate_than_it_names_is_not_intact(trust: TrustStore) -> None:
    good = sign_tst_info(pki().tsa, _imprint(DATA), 7)
    other = asn1_x509.Certificate.load(rogue_tsa().certificate.public_bytes(serialization.Encoding.DER))
    signed_data = good["content"]
    signed_data["certificates"] = [other]  # the TSA certificate swapped for another one
    verdict = verify_token(good.dump(force=True), DATA, trust)
    assert not verdict.intact
    assert verdict.reason is not None
    assert "does not carry the certificate" in verdict.reason


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("reject", "rejected the request: status rejection, 'policy says no' (failure info: bad_alg)"),
        ("garbage", "not an RFC 3161 TimeStampResp"),
        ("http-error", "answered HTTP 500"),
        ("wrong-imprint", "message imprint mismatch"),
        ("wrong-nonce", "does not carry our nonce"),
        ("bad-signature", "does not verify"),
        ("huge", "larger than 1048576 bytes"),
        ("redirect", "answered HTTP 302"),
    ],
)
def test_misbehaving_tsa_raises_signing_error_naming_it(mode: Mode, message: str) -> None:
    with tsa_server(mode=mode) as url, pytest.raises(SigningError) as caught:
        Timestamper(url, timeout=5).token(DATA)
    assert f"timestamp authority {url}:" in str(caught.value)
    assert message in str(caught.value)


def test_slow_tsa_times_out_within_the_bound() -> None:
    with tsa_server(mode="slow", delay=10) as url:
        started = time.monotonic()
        with pytest.raises(SigningError, match=r"timed out after 0\.3 s") as caught:
            Timestamper(url, timeout=0.3).token(DATA)
        assert time.monotonic() - started < 3
    assert url in str(caught.value)


def test_unreachable_tsa_is_named() -> None:
    with tsa_server() as url:
        pass  # the port is free again once the server is gone
    with pytest.raises(SigningError, match="unreachable") as caught:
        Timestamper(url, timeout=2).token(DATA)
    assert url in str(caught.value)


def test_messages_do_not_show_the_query_string() -> None:
    with tsa_server() as url:
        pass
    with pytest.raises(SigningError) as caught:
        Timestamper(url + "?access_token=s3cr3t", timeout=2).token(DATA)
    assert "s3cr3t" not in str(caught.value)
    assert url in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://tsa.example/", "must use http or https, not 'ftp'"),
        ("file:///etc/passwd", "must use http or https, not 'file'"),
        ("tsa.example/stamp", "must use http or https"),
        ("http:///stamp", "has no host"),
        ("http://tsa.example:port/", "not a valid URL"),
        ("https://user:pa55@tsa.example/", "must not contain credentials"),
    ],
)
def test_unusable_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(SigningError, match=message) as caught:
        Timestamper(url)
    assert "pa55" not in str(caught.value)


def test_timeout_must_be_positive() -> None:
    with pytest.raises(SigningError, match="positive"):
        Timestamper("https://tsa.example/", timeout=0)


def test_pyhanko_timestamper_stamps_a_pades_signature(tsa_url: str, trust: TrustStore) -> None:
    from asn1crypto import keys
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import PdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def der(certificate: object) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))  # type: ignore[attr-defined]

    writer = PdfFileWriter()
    size = generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 100, 100)])
    writer.insert_page(
        generic.DictionaryObject(
            {generic.NameObject("/Type"): generic.NameObject("/Page"), generic.NameObject("/MediaBox"): size}
        )
    )
    pdf = io.BytesIO()
    writer.write(pdf)
    seller = pki().rsa
    key = seller.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signers.SimpleSigner(
        signing_cert=der(seller.certificate),
        signing_key=keys.PrivateKeyInfo.load(key),
        cert_registry=SimpleCertificateStore.from_certs([der(c) for c in seller.chain]),
    )
    signed = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf.getvalue())),
        signers.PdfSignatureMetadata(field_name="Signature1"),
        signer=signer,
        timestamper=Timestamper(tsa_url).pyhanko(),
    )
    signature = PdfFileReader(signed).embedded_signatures[0]
    unsigned = {a["type"].native: a["values"][0] for a in signature.signer_info["unsigned_attrs"]}
    token = unsigned["signature_time_stamp_token"].dump()
    # PAdES B-T: the token covers the signature value (RFC 3161 applied per ETSI EN 319 122).
    assert verify_token(token, signature.signer_info["signature"].native, trust).valid


def test_pyhanko_timestamper_raises_signing_error() -> None:
    import asyncio

    with tsa_server(mode="reject") as url:
        stamper = Timestamper(url).pyhanko()
        with pytest.raises(SigningError, match="rejected"):
            asyncio.run(stamper.async_timestamp(hashlib.sha256(DATA).digest(), "sha256"))
