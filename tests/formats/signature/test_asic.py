"""ASiC-E with a detached XAdES signature: CII invoices signed beside themselves, hostile ZIPs refused.

Containers are rebuilt with ``zipfile`` (valid CRCs) to tamper with them the way an
attacker would: a changed invoice, an added file, a swapped certificate. Chains are
checked against ``TrustStore.from_pem(trust_pem())``; the -T tests run ``tests/tsa.py``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import subprocess
import sys
import zipfile
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from lxml import etree

from formats.cii import EN16931, to_xml
from formats.errors import InvoiceInputError, SigningError
from formats.invoice import load_json, parse_invoice
from formats.signature import document_kind, sign, verify
from formats.signature.asic import (
    MAX_ENTRIES,
    MAX_ENTRY_BYTES,
    MEDIA_TYPE,
    contents,
    sign_asic,
    valid_name,
    verify_asic,
)
from formats.signature.report import SignatureResult, VerificationReport
from formats.signature.timestamp import Timestamper
from formats.signature.trust import TrustStore
from gateway.keystore import KeyVault
from gateway.secretbox import SecretBox, generate_master_key
from schemas.engine import Engine
from tests.gateway.cli_env import cli_env
from tests.pki import NOW, p12, pki, trust_pem
from tests.tsa import tsa_url  # noqa: F401 - a fixture

REPO = Path(__file__).resolve().parents[3]
SIGNED_AT = NOW - timedelta(hours=1)
NS = {
    "asic": "http://uri.etsi.org/02918/v1.2.1#",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xades": "http://uri.etsi.org/01903/v1.3.2#",
}
SIGNATURES = "META-INF/signatures001.xml"
FACTURX_EN16931 = "fr.factur-x:en16931:1.09"


@cache
def cii() -> bytes:
    invoice = parse_invoice(load_json((REPO / "examples" / "de-domestic-b2b.json").read_bytes()))
    return to_xml(invoice, EN16931)


@cache
def signed(which: str = "rsa") -> bytes:
    issued = {"rsa": pki().rsa, "ecdsa": pki().ecdsa}[which]
    return sign_asic({"invoice.xml": cii()}, issued.identity, signing_time=SIGNED_AT)


def trust() -> TrustStore:
    return TrustStore.from_pem(trust_pem())


def only(report: VerificationReport) -> SignatureResult:
    assert report.document_kind == "ASiC-E"
    assert len(report.signatures) == 1
    return report.signatures[0]


def child(element: etree._Element, path: str) -> etree._Element:
    found = element.find(path, NS)
    assert found is not None, path
    return found


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip_files(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """The container rebuilt as a tool would (valid CRCs): bytes replace or add, None drops."""
    current = entries(data)
    for name, content in changes.items():
        if content is None:
            current.pop(name, None)
        else:
            current[name] = content
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in current.items():
            kind = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=kind)
    return buffer.getvalue()


def raw_zip(*items: tuple[str, bytes], kind: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", MEDIA_TYPE, compress_type=zipfile.ZIP_STORED)
        for name, content in items:
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=kind)
    return buffer.getvalue()


# ------------------------------------------------------------------ sign and verify


@pytest.mark.parametrize("which", ["rsa", "ecdsa"])
def test_signed_cii_verifies_and_is_trusted(which: str) -> None:
    report = verify_asic(signed(which), trust())
    result = only(report)
    assert (result.intact, result.covers_whole_document, result.trusted, result.valid_at_signing_time) == (
        True,
        True,
        True,
        True,
    )
    assert result.problems == []
    assert report.valid
    assert result.kind == "XAdES"
    assert result.level == "XAdES-B-B"
    assert result.signing_time == SIGNED_AT
    issued = pki().rsa if which == "rsa" else pki().ecdsa
    assert result.signer_serial == issued.certificate.serial_number
    assert verify(signed(which), trust()).valid  # the dispatch recognises the ZIP


def test_the_mimetype_entry_is_first_stored_exact_and_without_extra_field() -> None:
    data = signed()
    assert data.startswith(b"PK\x03\x04")
    method, name_length, extra_length = struct.unpack("<H16xHH", data[8:30])
    assert (method, name_length, extra_length) == (0, 8, 0)
    assert data[30:38] == b"mimetype"
    assert data[38 : 38 + len(MEDIA_TYPE)] == MEDIA_TYPE.encode() == b"application/vnd.etsi.asic-e+zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        first = archive.infolist()[0]
        assert (first.filename, first.compress_type, first.extra) == ("mimetype", zipfile.ZIP_STORED, b"")
        assert [i.filename for i in archive.infolist()] == [
            "mimetype",
            "invoice.xml",
            "META-INF/manifest.xml",
            SIGNATURES,
        ]
        # Every entry carries the signing time (ZIP stores seconds in steps of two).
        expected = SIGNED_AT.replace(second=SIGNED_AT.second - SIGNED_AT.second % 2).timetuple()[:6]
        assert {i.date_time for i in archive.infolist()} == {expected}


def test_the_cii_inside_is_byte_identical_and_still_validates() -> None:
    inside = contents(signed())
    assert inside == {"invoice.xml": cii()}
    report = Engine().validate(inside["invoice.xml"], "invoice.xml", FACTURX_EN16931)
    assert report.error is None
    assert report.set_id == FACTURX_EN16931
    assert report.valid
    assert list(report.items()) == []


def test_the_signature_file_is_a_detached_xades_over_the_file_name() -> None:
    root = etree.fromstring(entries(signed("ecdsa"))[SIGNATURES])
    assert root.tag == "{http://uri.etsi.org/02918/v1.2.1#}XAdESSignatures"
    references = root.findall("ds:Signature/ds:SignedInfo/ds:Reference", NS)
    assert [r.get("URI") for r in references] == ["invoice.xml", "#S0-signed-properties"]
    assert references[1].get("Type") == "http://uri.etsi.org/01903#SignedProperties"
    digest = references[0].findtext("ds:DigestValue", namespaces=NS)
    assert digest == base64.b64encode(hashlib.sha256(cii()).digest()).decode()
    assert str(child(root, ".//ds:SignatureMethod").get("Algorithm")).endswith("#ecdsa-sha256")
    properties = child(root, ".//xades:SignedSignatureProperties")
    assert properties.find("xades:SigningCertificateV2/xades:Cert/xades:CertDigest", NS) is not None
    assert root.findtext(".//xades:DataObjectFormat/xades:MimeType", namespaces=NS) == "application/xml"
    data_format = child(root, ".//xades:DataObjectFormat")
    assert data_format.get("ObjectReference") == f"#{references[0].get('Id')}"


def test_output_is_deterministic_for_rsa() -> None:
    again = sign_asic({"invoice.xml": cii()}, pki().rsa.identity, signing_time=SIGNED_AT)
    assert again == signed("rsa")


def test_several_files_are_all_signed() -> None:
    files = {"invoice.xml": cii(), "attachment.pdf": b"%PDF-1.7 not really", "notes.txt": b"hello"}
    data = sign_asic(files, pki().ecdsa.identity)
    assert verify_asic(data, trust()).valid
    assert contents(data) == files


# ------------------------------------------------------------------ tampering


def test_a_changed_byte_in_the_invoice_is_not_intact() -> None:
    original = cii()
    position = original.index(b"<ram:GrandTotalAmount>") + len(b"<ram:GrandTotalAmount>")
    changed = original[:position] + b"9" + original[position + 1 :]
    assert len(changed) == len(original)
    assert changed != original
    result = only(verify_asic(rezip_files(signed(), {"invoice.xml": changed}), trust()))
    assert result.intact is False
    assert any(
        "digest mismatch, the file invoice.xml was changed after signing" in p for p in result.problems
    )
    assert result.trusted is True  # who signed is still known: only the content is wrong


def test_a_flipped_byte_in_the_raw_zip_is_unreadable() -> None:
    data = bytearray(signed())
    start = bytes(data).index(b"invoice.xml") + len(b"invoice.xml")  # the compressed invoice follows
    data[start + 40] ^= 0x01
    with pytest.raises(InvoiceInputError, match="ASiC-E"):
        verify_asic(bytes(data), trust())


def test_an_added_unsigned_file_does_not_cover_the_whole_document() -> None:
    data = rezip_files(signed(), {"extra.xml": b"<surprise/>"})
    result = only(verify_asic(data, trust()))
    assert result.intact is True
    assert result.covers_whole_document is False
    assert any("'extra.xml'" in p and "does not cover" in p for p in result.problems)
    assert not verify_asic(data, trust()).valid
    assert contents(data) == {"invoice.xml": cii()}  # what is handed on: only the signed file


def test_a_removed_file_is_reported() -> None:
    data = sign_asic({"invoice.xml": cii(), "notes.txt": b"x"}, pki().rsa.identity)
    result = only(verify_asic(rezip_files(data, {"notes.txt": None}), trust()))
    assert result.intact is False
    assert any("'notes.txt', which is not in the container" in p for p in result.problems)


def _swap_certificate(data: bytes, fix_the_digest: bool) -> bytes:
    document = entries(data)[SIGNATURES].decode()
    own = base64.b64encode(pki().rsa.certificate.public_bytes(serialization.Encoding.DER)).decode()
    other_cert = pki().untrusted.certificate
    other = base64.b64encode(other_cert.public_bytes(serialization.Encoding.DER)).decode()
    assert own in document
    document = document.replace(own, other)
    if fix_the_digest:
        own_digest = base64.b64encode(pki().rsa.certificate.fingerprint(hashes.SHA256())).decode()
        assert own_digest in document
        document = document.replace(
            own_digest, base64.b64encode(other_cert.fingerprint(hashes.SHA256())).decode()
        )
    return rezip_files(data, {SIGNATURES: document.encode()})


@pytest.mark.parametrize("fix_the_digest", [False, True], ids=["certificate-only", "with-its-digest"])
def test_a_swapped_certificate_is_invalid(fix_the_digest: bool) -> None:
    result = only(verify_asic(_swap_certificate(signed(), fix_the_digest), trust()))
    assert result.valid is False
    assert result.intact is False
    if fix_the_digest:  # the signed properties no longer match, nor does the signature value
        assert any("the signed properties" in p for p in result.problems)
    else:
        assert any("SigningCertificate digest matches no certificate" in p for p in result.problems)


def test_an_untrusted_signer_is_intact_but_not_trusted() -> None:
    data = sign_asic({"invoice.xml": cii()}, pki().untrusted.identity)
    result = only(verify_asic(data, trust()))
    assert (result.intact, result.covers_whole_document, result.trusted) == (True, True, False)
    assert any("does not chain to the trust store" in p for p in result.problems)


def test_an_external_or_traversing_reference_is_never_followed() -> None:
    document = entries(signed())[SIGNATURES].replace(b'URI="invoice.xml"', b'URI="../invoice.xml"')
    result = only(verify_asic(rezip_files(signed(), {SIGNATURES: document}), trust()))
    assert result.intact is False
    assert any("points outside the container" in p for p in result.problems)


# ------------------------------------------------------------------ XAdES-T


@pytest.mark.parametrize("which", ["rsa", "ecdsa"])
def test_xades_t_carries_a_verified_time_stamp(tsa_url: str, which: str) -> None:  # noqa: F811
    issued = pki().rsa if which == "rsa" else pki().ecdsa
    data = sign_asic({"invoice.xml": cii()}, issued.identity, timestamper=Timestamper(tsa_url))
    result = only(verify_asic(data, trust()))
    assert result.level == "XAdES-B-T"
    assert result.timestamp_time is not None
    assert abs(result.timestamp_time - NOW) < timedelta(days=1)
    assert result.valid, result.problems
    root = etree.fromstring(entries(data)[SIGNATURES])
    assert root.find(".//xades:UnsignedSignatureProperties/xades:SignatureTimeStamp", NS) is not None


# ------------------------------------------------------------------ hostile containers


def test_a_zip_bomb_is_refused() -> None:
    bomb = raw_zip(("invoice.xml", b"\0" * (MAX_ENTRY_BYTES + 1)))
    assert len(bomb) < 100_000  # highly compressible: small archive, huge entry
    with pytest.raises(InvoiceInputError, match=r"declares \d+ bytes uncompressed"):
        verify_asic(bomb, trust())


def test_a_zip_bomb_lying_about_its_size_is_stopped_while_reading() -> None:
    bomb = bytearray(raw_zip(("invoice.xml", b"\0" * (MAX_ENTRY_BYTES + 1))))
    declared = struct.pack("<I", 100)
    # Both the local header and the central directory claim 100 bytes.
    local = bytes(bomb).index(b"PK\x03\x04invoice.xml"[:4], 1)
    bomb[local + 22 : local + 26] = declared
    central = bytes(bomb).index(b"PK\x01\x02")
    central = bytes(bomb).index(b"PK\x01\x02", central + 1)  # the second: invoice.xml
    bomb[central + 24 : central + 28] = declared
    # zipfile stops at the declared size and then finds the CRC wrong; the reader would stop
    # at its own limit otherwise: either way no more than the limit is ever inflated.
    with pytest.raises(InvoiceInputError, match=r"damaged: Bad CRC-32|inflates to more than"):
        verify_asic(bytes(bomb), trust())


@pytest.mark.parametrize(
    "name",
    ["../evil.xml", "/etc/passwd", "a/../../b.xml", "C:\\evil.xml", "dir\\evil.xml", "a//b.xml", "./x.xml"],
)
def test_traversal_names_are_refused(name: str) -> None:
    with pytest.raises(InvoiceInputError, match="entry name"):
        verify_asic(raw_zip((name, b"<x/>")), trust())


def _end_record(data: bytes) -> int:
    return data.rindex(b"PK\x05\x06")


def test_too_many_entries_are_refused() -> None:
    many = raw_zip(*((f"f{i}.txt", b"x") for i in range(MAX_ENTRIES)))  # + mimetype
    with pytest.raises(InvoiceInputError, match=f"declares {MAX_ENTRIES + 1} entries"):
        verify_asic(many, trust())
    # An end record that understates the count: zipfile's own index still shows them all.
    lying = bytearray(many)
    end = _end_record(many)
    lying[end + 8 : end + 12] = struct.pack("<HH", 2, 2)
    with pytest.raises(InvoiceInputError, match=f"has {MAX_ENTRIES + 1} entries"):
        verify_asic(bytes(lying), trust())


def test_an_oversized_central_directory_is_refused_before_indexing() -> None:
    huge = bytearray(signed())
    end = _end_record(signed())
    huge[end + 12 : end + 16] = struct.pack("<I", 50_000_000)
    with pytest.raises(InvoiceInputError, match="central directory is 50000000 bytes"):
        verify_asic(bytes(huge), trust())


def test_duplicate_names_are_refused() -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = raw_zip(("invoice.xml", b"<a/>"), ("invoice.xml", b"<b/>"))
    with pytest.raises(InvoiceInputError, match="appears twice"):
        verify_asic(twice, trust())


@pytest.mark.parametrize(
    ("container", "message"),
    [
        (lambda: rezip_files(signed(), {"mimetype": None}), "first entry is"),
        (lambda: rezip_files(signed(), {"mimetype": b"application/zip"}), "not 'application/vnd.etsi"),
        (lambda: b"PK\x03\x04" + b"\0" * 100, "end-of-central-directory"),
        (lambda: signed()[:-30], "ASiC-E"),
    ],
    ids=["no-mimetype", "wrong-mimetype", "garbage", "truncated"],
)
def test_a_broken_container_is_unreadable(container: object, message: str) -> None:
    with pytest.raises(InvoiceInputError, match=message):
        verify_asic(container(), trust())  # type: ignore[operator]


def test_a_compressed_mimetype_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", MEDIA_TYPE, compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(InvoiceInputError, match="compressed"):
        verify_asic(buffer.getvalue(), trust())


def test_a_container_without_signature_has_none() -> None:
    report = verify_asic(raw_zip(("invoice.xml", cii())), trust())
    assert report.signatures == []
    assert not report.valid
    with pytest.raises(InvoiceInputError, match="no XAdES signature"):
        contents(raw_zip(("invoice.xml", cii())))


# ------------------------------------------------------------------ names and dispatch


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("invoice.xml", True),
        ("INV-2024_001.xml", True),
        ("a/b.xml", False),
        ("..", False),
        ("a..b.xml", False),
        (".hidden", False),
        ("mimetype", False),
        ("META-INF", False),
        ("rechnung-ä.xml", False),
        ("with space.xml", False),
        ("x" * 256, False),
    ],
)
def test_file_names(name: str, ok: bool) -> None:
    assert valid_name(name) is ok
    if not ok:
        with pytest.raises(SigningError, match="file name"):
            sign_asic({name: b"x"}, pki().rsa.identity)


def test_sign_dispatches_cii_to_asic_with_an_optional_name() -> None:
    data = sign(cii(), pki().rsa.identity, signing_time=SIGNED_AT)
    assert data == signed("rsa")
    assert document_kind(data) == "zip"
    named = sign(cii(), pki().rsa.identity, name="RE-4711.xml")
    assert contents(named) == {"RE-4711.xml": cii()}
    with pytest.raises(SigningError, match="already"):
        sign(data, pki().rsa.identity)
    with pytest.raises(InvoiceInputError, match="not an ASiC-E container"):
        sign(b"PK\x03\x04" + b"\0" * 40, pki().rsa.identity)


def test_an_expired_identity_signs_nothing() -> None:
    with pytest.raises(SigningError, match="expired"):
        sign_asic({"invoice.xml": cii()}, pki().expired.identity)


# ------------------------------------------------------------------ CLI


def _run(base: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=REPO,
        env=cli_env(columns=200, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def test_cli_signs_cii_into_an_asice_and_verifies_it(tmp_path: Path) -> None:
    master = generate_master_key()
    env = {"GATEWAY_HOME": str(tmp_path / "home"), "GATEWAY_MASTER_KEY": master}
    vault = KeyVault(tmp_path / "home" / "keys", SecretBox.from_env(env))
    vault.add("acme", "main", p12=p12(pki().ecdsa, "pw"), password="pw")
    root = tmp_path / "root.pem"
    root.write_bytes(trust_pem())
    source = tmp_path / "cii.xml"
    source.write_bytes(cii())

    done = _run(tmp_path, "sign", str(source), "--tenant", "acme", "--key", "main", env=env)
    assert done.returncode == 0, done.stderr
    container = tmp_path / "cii.asice"
    assert container.exists()
    assert not (tmp_path / "cii.signed.xml").exists()
    assert contents(container.read_bytes()) == {"cii.xml": cii()}  # the file keeps its name

    ok = _run(tmp_path, "verify", str(container), "--trust", str(root), env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "✓ valid" in ok.stdout
    assert "(ASiC-E)" in ok.stdout

    changed = cii().replace(b"<ram:GrandTotalAmount>", b"<ram:GrandTotalAmount>1", 1)
    tampered = tmp_path / "tampered.asice"
    tampered.write_bytes(rezip_files(container.read_bytes(), {"cii.xml": changed}))
    bad = _run(tmp_path, "verify", str(tampered), "--trust", str(root), env=env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "✗ not intact" in bad.stdout
    assert "changed after signing" in bad.stdout

    garbage = tmp_path / "bomb.asice"
    garbage.write_bytes(raw_zip(("../x.xml", b"x")))
    refused = _run(tmp_path, "verify", str(garbage), "--trust", str(root), env=env)
    assert refused.returncode == 2
    assert "path traversal" in refused.stderr


# ------------------------------------------------------------------ signature wrapping


def test_a_second_unsigned_signed_info_cannot_cover_an_added_file() -> None:
    """A copy of SignedInfo referencing an added file (correct digest) must not count as signed."""
    extra = b"<surprise/>"
    root = etree.fromstring(entries(signed())[SIGNATURES])
    signature = child(root, "ds:Signature")
    forged = etree.SubElement(signature, "{http://www.w3.org/2000/09/xmldsig#}SignedInfo")
    reference = etree.SubElement(forged, "{http://www.w3.org/2000/09/xmldsig#}Reference", URI="extra.xml")
    etree.SubElement(
        reference,
        "{http://www.w3.org/2000/09/xmldsig#}DigestMethod",
        Algorithm="http://www.w3.org/2001/04/xmlenc#sha256",
    )
    digest = etree.SubElement(reference, "{http://www.w3.org/2000/09/xmldsig#}DigestValue")
    digest.text = base64.b64encode(hashlib.sha256(extra).digest()).decode()
    data = rezip_files(signed(), {SIGNATURES: etree.tostring(root), "extra.xml": extra})
    result = only(verify_asic(data, trust()))
    assert result.valid is False
    assert result.intact is False
    assert result.covers_whole_document is False
    assert any("2 ds:SignedInfo" in p for p in result.problems)
    assert contents(data) == {}  # a malformed signature vouches for nothing


def test_a_second_unsigned_signed_properties_cannot_change_the_signing_time() -> None:
    root = etree.fromstring(entries(signed())[SIGNATURES])
    signature = child(root, "ds:Signature")
    obj = child(signature, "ds:Object")
    fake = etree.fromstring(etree.tostring(obj))
    child(fake, ".//xades:SigningTime").text = "2001-01-01T00:00:00Z"
    signature.insert(signature.index(obj), fake)  # found first by a lax lookup
    result = only(verify_asic(rezip_files(signed(), {SIGNATURES: etree.tostring(root)}), trust()))
    assert result.valid is False
    assert any("xades:SignedProperties" in p for p in result.problems)


def test_the_verify_api_reads_an_asice_body(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from gateway.api import create_app
    from gateway.api.settings import ApiSettings

    root = tmp_path / "root.pem"
    root.write_bytes(trust_pem())
    app = create_app(ApiSettings(max_upload_bytes=256 * 1024, validate_jobs=1, trust_store=(root,)))
    with TestClient(app) as client:
        headers = {"content-type": MEDIA_TYPE}
        ok = client.post("/v1/verify?name=cii.asice", content=signed(), headers=headers)
        assert ok.status_code == 200
        assert (ok.json()["document_kind"], ok.json()["valid"]) == ("ASiC-E", True)
        bad = client.post("/v1/verify", content=raw_zip(("../x.xml", b"x")), headers=headers)
        assert bad.status_code == 422
        assert "path traversal" in bad.json()["detail"]
