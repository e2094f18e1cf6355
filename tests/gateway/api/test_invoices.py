"""``/v1/invoices`` and ``/v1/deliveries``: submission, reading, documents, paging, operator moves."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from connectors.folder import FolderConnector
from gateway.runner import run_due_once
from tests.gateway.api.conftest import Api, example, folder_recipient, invoice_json

PROBLEM = "application/problem+json"


def submit(api: Api, body: bytes, *, key: str | None = None, query: str | None = None, **headers: str):
    headers = {**api.a.headers, "content-type": "application/json", **headers}
    if key is not None:
        headers["Idempotency-Key"] = key
    target = query if query is not None else f"recipient={api.a.recipient}"
    return api.client.post(f"/v1/invoices?{target}", content=body, headers=headers)


def assert_problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:einvoice-gateway:problem:")
    assert body["title"]
    assert body["detail"]
    return body


def test_submit_json_is_202_with_deliveries_and_readable(api: Api):
    response = submit(api, example())
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["id"].startswith("inv_")
    assert accepted["status"] == "queued"
    assert accepted["replay"] is False
    [delivery] = accepted["deliveries"]
    assert delivery == {
        "id": delivery["id"],
        "channel": "archive",
        "channel_type": "folder",
        "status": "queued",
    }
    assert response.headers["location"] == f"/v1/invoices/{accepted['id']}"

    invoice = api.client.get(f"/v1/invoices/{accepted['id']}", headers=api.a.headers).json()
    assert invoice["number"] == "RE-2026-10042"
    assert invoice["status"] == "queued"
    assert invoice["business_status"] is None
    assert [e["status"] for e in invoice["events"]] == ["accepted", "validating", "ready", "queued"]
    assert {d["kind"] for d in invoice["documents"]} >= {"ubl", "source", "report"}
    assert invoice["deliveries"][0]["id"] == delivery["id"]


def test_document_download_has_media_type_etag_and_filename(api: Api):
    invoice_id = submit(api, example()).json()["id"]
    response = api.client.get(f"/v1/invoices/{invoice_id}/documents/ubl", headers=api.a.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'
    assert 'filename="RE-2026-10042.xml"' in response.headers["content-disposition"]
    assert b"<cbc:ID>RE-2026-10042</cbc:ID>" in response.content
    again = api.client.get(
        f"/v1/invoices/{invoice_id}/documents/ubl",
        headers={**api.a.headers, "If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304
    assert again.content == b""
    source = api.client.get(f"/v1/invoices/{invoice_id}/documents/source", headers=api.a.headers)
    assert source.content == example()
    assert_problem(api.client.get(f"/v1/invoices/{invoice_id}/documents/cii", headers=api.a.headers), 404)
    assert_problem(api.client.get(f"/v1/invoices/{invoice_id}/documents/exe", headers=api.a.headers), 404)


def test_ubl_forwarded_as_is(api: Api, minimal_ubl: bytes):
    response = submit(api, minimal_ubl, **{"content-type": "application/xml"})
    assert response.status_code == 202, response.text
    invoice_id = response.json()["id"]
    stored = api.client.get(f"/v1/invoices/{invoice_id}/documents/ubl", headers=api.a.headers)
    assert stored.content == minimal_ubl


def test_envelope_with_recipient_id_and_inline_recipient(api: Api):
    body = {"recipient": api.a.recipient, "invoice": invoice_json("ENV-1")}
    response = api.client.post(
        "/v1/invoices",
        content=json.dumps(body),
        headers={**api.a.headers, "content-type": "application/json"},
    )
    assert response.status_code == 202, response.text

    inline = {
        "recipient": folder_recipient(api.outbox / "inline", "Inline"),
        "invoice": invoice_json("ENV-2"),
    }
    response = api.client.post("/v1/invoices", json=inline, headers=api.a.headers)
    assert response.status_code == 202, response.text
    assert response.json()["deliveries"][0]["channel_type"] == "folder"

    twice = api.client.post(f"/v1/invoices?recipient={api.a.recipient}", json=body, headers=api.a.headers)
    assert "twice" in assert_problem(twice, 422)["detail"]
    bad = {"recipient": {"name": "x", "formats": [], "channels": []}, "invoice": invoice_json()}
    problem = assert_problem(api.client.post("/v1/invoices", json=bad, headers=api.a.headers), 422)
    assert any(p["location"].startswith("recipient.") for p in problem["problems"])
    extra = {"invoice": invoice_json(), "recipient": api.a.recipient, "other": 1}
    assert_problem(api.client.post("/v1/invoices", json=extra, headers=api.a.headers), 422)


def test_envelope_keeps_amounts_exact(api: Api):
    body = example().decode()
    wrapped = f'{{"recipient": "{api.a.recipient}", "invoice": {body}}}'
    response = api.client.post(
        "/v1/invoices", content=wrapped, headers={**api.a.headers, "content-type": "application/json"}
    )
    assert response.status_code == 202, response.text
    invoice = api.client.get(f"/v1/invoices/{response.json()['id']}", headers=api.a.headers).json()
    assert invoice["amount_due"] == "7438.03"


def test_idempotency_replay_and_conflict(api: Api):
    first = submit(api, example(), key="order-42")
    again = submit(api, example(), key="order-42")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["replay"] is True
    assert again.headers["idempotent-replayed"] == "true"
    other = json.dumps(invoice_json("OTHER-1")).encode()
    problem = assert_problem(submit(api, other, key="order-42"), 409)
    assert problem["invoice"] == first.json()["id"]
    listed = api.client.get("/v1/invoices", headers=api.a.headers).json()["data"]
    assert [i["id"] for i in listed] == [first.json()["id"]]


def test_invalid_invoice_is_422_with_report_and_nothing_stored(api: Api):
    data = invoice_json()
    data["totals"] = {**data.get("totals", {}), "amount_due": "1.00"}
    response = submit(api, json.dumps(data).encode())
    problem = assert_problem(response, 422)
    assert problem["type"].endswith("invalid-invoice")
    assert problem["report"]["valid"] is False
    assert problem["report"]["problems"]
    assert api.client.get("/v1/invoices", headers=api.a.headers).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"number": ', "application/json", 422),
        (b"<Invoice><unclosed>", "application/xml", 422),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "application/xml", 422),
        (b"<html/>", "application/xml", 422),
        (b"", "application/json", 422),
        (b"hello", "text/plain", 415),
        (b"hello", "image/png", 415),
    ],
    ids=["truncated-json", "truncated-xml", "xxe", "not-an-invoice", "empty", "text-plain", "png"],
)
def test_bad_bodies(api: Api, body: bytes, content_type: str, status: int):
    problem = assert_problem(submit(api, body, **{"content-type": content_type}), status)
    assert "Traceback" not in problem["detail"]


def test_multipart_is_415(api: Api):
    response = api.client.post(
        f"/v1/invoices?recipient={api.a.recipient}",
        files={"file": ("i.json", example())},
        headers=api.a.headers,
    )
    assert_problem(response, 415)


def test_oversize_is_413_declared_and_streamed(api: Api):
    big = b'{"number": "' + b"x" * (300 * 1024) + b'"}'
    assert_problem(submit(api, big), 413)

    def chunks():
        for _ in range(40):
            yield b" " * 8192

    streamed = api.client.post(
        f"/v1/invoices?recipient={api.a.recipient}",
        content=chunks(),
        headers={**api.a.headers, "content-type": "application/json"},
    )
    assert_problem(streamed, 413)


def test_unknown_recipient_and_missing_recipient(api: Api):
    assert_problem(submit(api, example(), query="recipient=rcp_doesnotexist"), 404)
    assert_problem(submit(api, example(), query=f"recipient={api.b.recipient}"), 404)
    assert "recipient" in assert_problem(submit(api, example(), query=""), 422)["detail"]


def test_list_filters_and_pages(api: Api):
    ids = [submit(api, json.dumps(invoice_json(f"P-{n}")).encode()).json()["id"] for n in range(5)]
    seen, url = [], "/v1/invoices?limit=2"
    while url:
        page = api.client.get(url, headers=api.a.headers).json()
        assert len(page["data"]) <= 2
        seen += [i["id"] for i in page["data"]]
        url = page["links"].get("next")
    assert seen == list(reversed(ids))
    queued = api.client.get("/v1/invoices?status=queued", headers=api.a.headers).json()["data"]
    assert len(queued) == 5
    assert api.client.get("/v1/invoices?status=delivered", headers=api.a.headers).json()["data"] == []
    mine = api.client.get(f"/v1/invoices?recipient={api.a.recipient}", headers=api.a.headers).json()
    assert len(mine["data"]) == 5
    assert api.client.get("/v1/invoices?from=2999-01-01", headers=api.a.headers).json()["data"] == []
    assert len(api.client.get("/v1/invoices?to=2999-01-01", headers=api.a.headers).json()["data"]) == 5
    assert_problem(api.client.get("/v1/invoices?from=yesterday", headers=api.a.headers), 422)
    assert_problem(api.client.get("/v1/invoices?cursor=garbage", headers=api.a.headers), 422)
    assert_problem(api.client.get("/v1/invoices?limit=0", headers=api.a.headers), 422)


def test_cancel_retry_and_forbidden_moves(api: Api, box):
    accepted = submit(api, example()).json()
    delivery = accepted["deliveries"][0]["id"]
    # queued: retry is not a move the lifecycle allows
    assert (
        "retried"
        in assert_problem(api.client.post(f"/v1/deliveries/{delivery}/retry", headers=api.a.headers), 409)[
            "detail"
        ]
    )
    canceled = api.client.post(f"/v1/deliveries/{delivery}/cancel", headers=api.a.headers)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert_problem(api.client.post(f"/v1/deliveries/{delivery}/cancel", headers=api.a.headers), 409)
    assert api.client.get(f"/v1/deliveries/{delivery}", headers=api.a.headers).json()["status"] == "canceled"

    # the tenant's folder does not exist yet: the delivery fails (permanent), is retried, then delivered
    second = submit(api, json.dumps(invoice_json("DLV-2")).encode()).json()
    delivered = second["deliveries"][0]["id"]
    connectors = {"folder": FolderConnector()}
    assert set(run_due_once(api.store, connectors, box).values()) == {"failed"}
    failed = api.client.get(f"/v1/deliveries/{delivered}", headers=api.a.headers).json()
    assert failed["status"] == "failed"
    assert "does not exist" in failed["last_error"]
    retried = api.client.post(f"/v1/deliveries/{delivered}/retry", headers=api.a.headers)
    assert retried.status_code == 200
    assert retried.json()["status"] == "queued"
    (api.outbox / "tenant-a").mkdir()
    assert set(run_due_once(api.store, connectors, box).values()) == {"delivered"}
    assert_problem(api.client.post(f"/v1/deliveries/{delivered}/cancel", headers=api.a.headers), 409)
    assert_problem(api.client.post(f"/v1/deliveries/{delivered}/retry", headers=api.a.headers), 409)
    invoice = api.client.get(f"/v1/invoices/{second['id']}", headers=api.a.headers).json()
    assert invoice["status"] == "delivered"
    statuses = [e["status"] for e in invoice["events"]]
    assert statuses[-4:] == ["failed", "queued", "sending", "delivered"]
    assert any(e["source"] == "operator" for e in invoice["events"])
    assert_problem(api.client.post("/v1/deliveries/dlv_nope/retry", headers=api.a.headers), 404)
