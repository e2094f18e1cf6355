"""``POST /v1/validate`` through the real application (validator pool included)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfWriter

from gateway.api import create_app
from gateway.api.settings import ApiSettings


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(ApiSettings(max_upload_bytes=64 * 1024, validate_jobs=1))
    with TestClient(app) as test_client:
        yield test_client


def test_valid_xml_body(client, minimal_ubl):
    response = client.post("/v1/validate", content=minimal_ubl, headers={"content-type": "application/xml"})
    assert response.status_code == 200
    report = response.json()
    assert report["valid"] is True
    assert report["set"]["id"] == "eu.cen.en16931:ubl-invoice:1.3.16"
    assert [layer["validity"] for layer in report["layers"]] == ["valid"] * 3


def test_invalid_document_is_200_with_the_findings(client, minimal_ubl):
    broken = minimal_ubl.replace(b">119.00</cbc:TaxInclusiveAmount>", b">120.00</cbc:TaxInclusiveAmount>")
    response = client.post(
        "/v1/validate?name=broken.xml", content=broken, headers={"content-type": "text/xml"}
    )
    assert response.status_code == 200
    report = response.json()
    assert report["valid"] is False
    assert report["document"] == "broken.xml"
    items = [i for layer in report["layers"] for i in layer["items"]]
    assert any(i["id"] == "BR-CO-15" and "BT-112" in i["terms"] for i in items)


def test_multipart_upload(client, minimal_ubl):
    response = client.post("/v1/validate", files={"file": ("inv.xml", minimal_ubl, "application/xml")})
    assert response.status_code == 200
    assert response.json()["document"] == "inv.xml"


@pytest.mark.parametrize("fmt", ["html", "svrl"])
def test_other_report_formats(client, minimal_ubl, fmt):
    response = client.post(f"/v1/validate?format={fmt}", content=minimal_ubl)
    assert response.status_code == 200
    marker = "<!DOCTYPE html>" if fmt == "html" else "schematron-output"
    assert marker in response.text


def test_oversize_is_413(client):
    response = client.post("/v1/validate", content=b"<x>" + b" " * (65 * 1024) + b"</x>")
    assert response.status_code == 413


@pytest.mark.parametrize("body", [b"hello world", b"\x89PNG\r\n\x1a\n", b""])
def test_unknown_content_is_415(client, body):
    assert client.post("/v1/validate", content=body).status_code == 415


@pytest.mark.parametrize(
    "body",
    [b"<Invoice><unclosed>", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'],
    ids=["truncated", "xxe"],
)
def test_unreadable_xml_is_422_with_a_report(client, body):
    response = client.post("/v1/validate", content=body)
    assert response.status_code == 422
    assert response.json()["error"]


def test_pdf_without_invoice_is_422(client):
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    response = client.post(
        "/v1/validate", content=buffer.getvalue(), headers={"content-type": "application/pdf"}
    )
    assert response.status_code == 422
    assert "embedded" in response.json()["error"].lower()


def test_unknown_set_is_400(client, minimal_ubl):
    response = client.post("/v1/validate?set=no.such:set", content=minimal_ubl)
    assert response.status_code == 400


def test_bad_format_parameter_is_422(client, minimal_ubl):
    response = client.post("/v1/validate?format=pdf", content=minimal_ubl)
    assert response.status_code == 422
    assert response.json()["title"] == "Invalid request"
