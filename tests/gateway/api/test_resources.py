"""Recipients, webhooks, Ariba status updates, probes, authentication and error shapes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from connectors.folder import FolderConnector
from gateway.api import create_app
from gateway.api.settings import ApiSettings
from gateway.runner import run_due_once
from gateway.store import Store, repository
from tests.gateway.api.conftest import Api, example, folder_recipient
from tests.gateway.api.test_invoices import assert_problem, submit

SFTP: dict[str, Any] = {
    "type": "sftp",
    "name": "edi",
    "settings": {
        "host": "sftp.example.com",
        "username": "acme",
        "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    },
    "secrets": {"password": "Sup3r-Secret-Pw"},
}


def test_recipients_create_read_patch_and_secrets_stay_hidden(api: Api, tmp_path: Path):
    data = folder_recipient(tmp_path)
    data["name"] = "With SFTP"
    data["channels"].append(SFTP)
    created = api.client.post("/v1/recipients", json=data, headers=api.a.headers)
    assert created.status_code == 201, created.text
    recipient = created.json()
    assert created.headers["location"] == f"/v1/recipients/{recipient['id']}"
    assert "Sup3r-Secret-Pw" not in created.text
    assert recipient["channels"][1]["secrets"] == {"password": "set"}

    got = api.client.get(f"/v1/recipients/{recipient['id']}", headers=api.a.headers)
    assert got.json() == recipient
    assert "Sup3r-Secret-Pw" not in got.text
    listed = api.client.get("/v1/recipients", headers=api.a.headers).json()["data"]
    assert {r["id"] for r in listed} == {api.a.recipient, recipient["id"]}

    patched = api.client.patch(
        f"/v1/recipients/{recipient['id']}", json={"name": "Renamed"}, headers=api.a.headers
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Renamed"
    assert patched.json()["channels"][1]["secrets"] == {"password": "set"}
    with api.store.session() as s:
        row = repository.get_recipient(s, api.a.id, recipient["id"])
        assert row is not None
        assert b"Sup3r-Secret-Pw" not in (row.secrets or b"")

    taken = api.client.patch(
        f"/v1/recipients/{recipient['id']}", json={"name": "Buyer AG"}, headers=api.a.headers
    )
    assert_problem(taken, 409)
    assert_problem(
        api.client.post("/v1/recipients", json=folder_recipient(tmp_path), headers=api.a.headers), 409
    )


def test_recipient_bad_input_is_422_without_echoing_secrets(api: Api, tmp_path: Path):
    data = folder_recipient(tmp_path)
    data["channels"].append({**SFTP, "settings": {**SFTP["settings"], "port": "many"}})
    problem = assert_problem(api.client.post("/v1/recipients", json=data, headers=api.a.headers), 422)
    assert problem["problems"]
    assert "Sup3r-Secret-Pw" not in json.dumps(problem)
    malformed = api.client.post(
        "/v1/recipients", content=b'{"name": ', headers={**api.a.headers, "content-type": "application/json"}
    )
    assert "not valid JSON" in assert_problem(malformed, 422)["detail"]
    assert_problem(
        api.client.patch("/v1/recipients/rcp_nope", json={"name": "x"}, headers=api.a.headers), 404
    )
    assert_problem(api.client.get("/v1/recipients/rcp_nope", headers=api.a.headers), 404)


def test_webhook_secret_is_shown_once(api: Api):
    created = api.client.post(
        "/v1/webhooks", json={"url": "https://erp.example.com/hooks"}, headers=api.a.headers
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_")
    assert hook["active"] is True
    listed = api.client.get("/v1/webhooks", headers=api.a.headers)
    assert [h["id"] for h in listed.json()["data"]] == [hook["id"]]
    assert hook["secret"] not in listed.text
    assert "secret" not in listed.json()["data"][0]
    assert_problem(
        api.client.post("/v1/webhooks", json={"url": "ftp://erp.example.com/x"}, headers=api.a.headers), 422
    )
    assert_problem(api.client.post("/v1/webhooks", json={}, headers=api.a.headers), 422)
    # a status change now enqueues a signed notification for this endpoint
    submit(api, example())
    with api.store.session() as s:
        from sqlalchemy import func, select

        from gateway.store.models import WebhookMessage

        assert s.scalar(select(func.count()).select_from(WebhookMessage)) == 4


def status_update(payload_id: str | None, kind: str, invoice_number: str | None = None) -> bytes:
    reference = f'<DocumentReference payloadID="{payload_id}"/>' if payload_id else ""
    info = f'<InvoiceIDInfo invoiceID="{invoice_number}"/>' if invoice_number else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.063/cXML.dtd">\n'
        '<cXML payloadID="1@buyer.example" timestamp="2026-11-21T10:00:00+00:00">'
        "<Header/><Request><StatusUpdateRequest>"
        f'{reference}<Status code="200" text="OK"/>'
        f'<InvoiceStatus type="{kind}">{info}<Comments>looks fine</Comments></InvoiceStatus>'
        "</StatusUpdateRequest></Request></cXML>"
    ).encode()


def cxml_code(response) -> str:
    from lxml import etree

    root = etree.fromstring(response.content, etree.XMLParser(load_dtd=False, no_network=True))
    status = root.find("Response/Status")
    assert status is not None
    return str(status.get("code"))


def test_ariba_status_moves_the_business_axis(api: Api, box):
    accepted = submit(api, example()).json()
    run_due_once(api.store, {"folder": FolderConnector()}, box)
    delivery = api.client.get(
        f"/v1/deliveries/{accepted['deliveries'][0]['id']}", headers=api.a.headers
    ).json()
    post = lambda body: api.client.post(  # noqa: E731
        "/v1/status/ariba", content=body, headers={**api.a.headers, "content-type": "text/xml"}
    )
    doc = status_update(delivery["payload_id"], "processing")
    answer = post(doc)
    assert answer.status_code == 200
    assert cxml_code(answer) == "200"
    assert answer.headers["content-type"].startswith("text/xml")
    invoice = api.client.get(f"/v1/invoices/{accepted['id']}", headers=api.a.headers).json()
    assert invoice["business_status"] == "in_process"
    event = invoice["events"][-1]
    assert (event["axis"], event["status"], event["source"], event["raw_code"]) == (
        "business",
        "in_process",
        "ariba",
        "processing",
    )
    assert event["evidence_sha256"] == hashlib.sha256(doc).hexdigest()
    assert event["reason"] == "looks fine"
    # by invoice number, out of order: paid before approved; then nothing leaves paid
    assert cxml_code(post(status_update(None, "paid", "RE-2026-10042"))) == "200"
    late = post(status_update(delivery["payload_id"], "reconciled"))
    assert late.status_code == 409
    assert cxml_code(late) == "409"
    assert (
        api.client.get(f"/v1/invoices/{accepted['id']}", headers=api.a.headers).json()["business_status"]
        == "paid"
    )
    # unknown ids, bad documents
    assert cxml_code(post(status_update("nope@x", "paid"))) == "404"
    assert cxml_code(post(status_update(delivery["payload_id"], "exploded"))) == "400"
    assert cxml_code(post(b"<cXML><Request><Unclosed></cXML>")) == "400"
    xxe = b'<!DOCTYPE cXML [<!ENTITY e SYSTEM "file:///etc/passwd">]><cXML>&e;</cXML>'
    assert cxml_code(post(xxe)) == "400"
    assert_problem(
        api.client.post(
            "/v1/status/ariba", content=doc, headers={**api.a.headers, "content-type": "image/png"}
        ),
        415,
    )
    # tenant B cannot move tenant A's delivery, even knowing its payloadID
    other = api.client.post(
        "/v1/status/ariba",
        content=status_update(delivery["payload_id"], "rejected"),
        headers={**api.b.headers, "content-type": "text/xml"},
    )
    assert other.status_code == 404


def test_health_ready_and_metrics(api: Api):
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    submit(api, example())
    metrics = api.client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "gateway_validation_seconds" in metrics.text


def test_readyz_is_503_when_the_database_is_gone(tmp_path: Path, box):
    store = Store(f"sqlite:///{tmp_path}/missing-dir/x.db")  # the folder does not exist
    client = TestClient(
        create_app(ApiSettings(runner="off"), store=store, box=box), raise_server_exceptions=False
    )
    assert_problem(client.get("/readyz"), 503)


def test_authentication(api: Api):
    for headers in (
        {},
        {"Authorization": "Bearer gw_wrong"},
        {"Authorization": f"Basic {api.a.key}"},
        {"Authorization": "Bearer " + "x" * 5000},
    ):
        response = api.client.get("/v1/invoices", headers=headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(submit(api, example(), Authorization="Bearer nope"), 401)


def test_routing_errors_and_500_are_problems_without_internals(api: Api):
    assert_problem(api.client.get("/v1/nothing-here", headers=api.a.headers), 404)
    assert_problem(api.client.delete("/v1/invoices", headers=api.a.headers), 405)
    app: FastAPI = api.client.app  # type: ignore[assignment]

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internal path /etc/gateway and password=hunter2")

    problem = assert_problem(api.client.get("/v1/boom"), 500)
    assert "hunter2" not in json.dumps(problem)
    assert "RuntimeError" not in json.dumps(problem)
    assert problem["incident"]


def test_openapi_is_published(api: Api):
    spec = api.client.get("/openapi.json").json()
    for path in (
        "/v1/invoices",
        "/v1/invoices/{invoice_id}",
        "/v1/invoices/{invoice_id}/documents/{kind}",
        "/v1/deliveries/{delivery_id}/retry",
        "/v1/deliveries/{delivery_id}/cancel",
        "/v1/recipients",
        "/v1/recipients/{recipient_id}",
        "/v1/webhooks",
        "/v1/status/ariba",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/validate",
        "/v1/verify",
    ):
        assert path in spec["paths"], path
    assert "ApiKey" in spec["components"]["securitySchemes"]


def test_lifespan_runs_deliveries_in_process(store: Store, box, engine, tmp_path: Path):
    """``runner="on"``: the app's in-process runner delivers what was accepted, no worker needed."""
    import time

    from gateway.recipients import RecipientIn

    (tmp_path / "out").mkdir()
    with store.session() as s:
        tenant, key = repository.create_tenant(s, "solo")
        rcp = repository.create_recipient(
            s, tenant.id, RecipientIn.model_validate(folder_recipient(tmp_path / "out")), box
        )
    app = create_app(ApiSettings(runner="on"), store=store, box=box, engine=engine)
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    with TestClient(app) as client:
        accepted = client.post(f"/v1/invoices?recipient={rcp.id}", content=example(), headers=headers)
        assert accepted.status_code == 202
        deadline = time.monotonic() + 20
        status = ""
        while time.monotonic() < deadline and status != "delivered":
            status = client.get(accepted.headers["location"], headers=headers).json()["status"]
            time.sleep(0.1)
    assert status == "delivered"
    assert len(list((tmp_path / "out").iterdir())) == 1
