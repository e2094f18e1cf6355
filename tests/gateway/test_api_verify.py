"""``POST /v1/verify`` through the real application, with the server's trust store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from formats.facturx import to_facturx
from formats.invoice import load_json, parse_invoice
from formats.signature import sign
from gateway.api import create_app
from gateway.api.settings import ApiSettings
from gateway.truststore import TrustConfigError
from tests.pki import pem, pki, trust_pem

PROBLEM = "application/problem+json"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def root_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trust") / "root.pem"
    path.write_bytes(trust_pem())
    return path


@pytest.fixture(scope="module")
def client(root_pem: Path) -> Iterator[TestClient]:
    app = create_app(ApiSettings(max_upload_bytes=256 * 1024, validate_jobs=1, trust_store=(root_pem,)))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def signed_ubl() -> bytes:
    data = (Path(__file__).resolve().parents[1] / "fixtures" / "ubl-minimal.xml").read_bytes()
    return sign(data, pki().rsa.identity)


def test_valid_signature_is_200_and_valid(client, signed_ubl):
    response = client.post(
        "/v1/verify?name=inv.xml", content=signed_ubl, headers={"content-type": "application/xml"}
    )
    assert response.status_code == 200
    report = response.json()
    assert report["valid"] is True
    assert report["document"] == "inv.xml"
    assert report["document_kind"] == "UBL"
    (signature,) = report["signatures"]
    assert signature["signer"]["subject"] == pki().rsa.identity.subject
    assert signature["trusted"] is True


def test_signed_facturx_pdf(client):
    data = load_json((ROOT / "examples" / "large-500-lines.json").read_bytes())
    pdf = to_facturx(parse_invoice({**data, "lines": data["lines"][:3]}), "en16931")
    response = client.post(
        "/v1/verify", content=sign(pdf, pki().ecdsa.identity), headers={"content-type": "application/pdf"}
    )
    assert response.status_code == 200
    report = response.json()
    assert report["valid"] is True
    assert report["document_kind"] == "PDF"
    assert report["signatures"][0]["kind"] == "PAdES"
    unsigned = client.post("/v1/verify", content=pdf).json()
    assert unsigned["valid"] is False
    assert unsigned["signatures"] == []


def test_multipart_upload(client, signed_ubl):
    response = client.post("/v1/verify", files={"file": ("signed.xml", signed_ubl, "application/xml")})
    assert response.status_code == 200
    assert response.json()["document"] == "signed.xml"
    assert response.json()["valid"] is True


def test_tampered_is_200_and_invalid_with_the_reason(client, signed_ubl):
    tampered = signed_ubl.replace(b">119.00</cbc:TaxInclusiveAmount>", b">1.00</cbc:TaxInclusiveAmount>")
    assert tampered != signed_ubl
    report = client.post("/v1/verify", content=tampered).json()
    assert report["valid"] is False
    assert report["signatures"][0]["intact"] is False
    assert report["signatures"][0]["problems"]


def test_unsigned_and_untrusted_are_200_and_invalid(client):
    unsigned = (Path(__file__).resolve().parents[1] / "fixtures" / "ubl-minimal.xml").read_bytes()
    response = client.post("/v1/verify", content=unsigned)
    assert response.status_code == 200
    assert response.json() == {"document": None, "document_kind": "UBL", "valid": False, "signatures": []}
    mallory = sign(unsigned, pki().untrusted.identity)
    report = client.post("/v1/verify", content=mallory).json()
    assert report["valid"] is False
    assert report["signatures"][0]["intact"] is True
    assert report["signatures"][0]["trusted"] is False


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"hello world",
        b"<Invoice><unclosed>",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"%PDF-1.7\nnot really a pdf",
    ],
    ids=["empty", "text", "truncated", "xxe", "broken-pdf"],
)
def test_unreadable_is_422_problem_json(client, body):
    response = client.post("/v1/verify", content=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert problem["type"].endswith("unreadable-document")
    assert problem["title"]
    assert problem["detail"]
    assert "Traceback" not in response.text


def test_oversize_is_413_problem_json(client):
    response = client.post("/v1/verify", content=b"<x>" + b" " * (257 * 1024) + b"</x>")
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 413


def test_no_route_returns_key_material(client, signed_ubl):
    key_pem, _ = pem(pki().rsa, None)
    key_lines = [line for line in key_pem.decode().splitlines() if "-----" not in line]
    text = client.post("/v1/verify", content=signed_ubl).text + client.get("/openapi.json").text
    assert "PRIVATE KEY" not in text
    assert not any(line in text for line in key_lines)
    assert all(
        not path.startswith("/v1/keys") for path in json.loads(client.get("/openapi.json").text)["paths"]
    )


def test_unreadable_trust_store_stops_the_app(tmp_path):
    bogus = tmp_path / "roots.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(TrustConfigError, match="trust store"):
        create_app(ApiSettings(trust_store=(bogus,)))


def test_trust_store_from_the_environment(monkeypatch, root_pem):
    monkeypatch.setenv("GATEWAY_TRUST_STORE", str(root_pem))
    assert ApiSettings.from_env().trust_store == (root_pem,)
