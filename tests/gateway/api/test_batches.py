"""``POST /v1/batches`` and ``GET /v1/batches/{id}``: many invoices at once, processed in the
background through the same pipeline, without duplicates when the work is repeated."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from gateway import batch_jobs, batches
from gateway.store.models import BatchItem, Invoice
from tests.gateway.api.conftest import Api, invoice_json
from tests.gateway.jobs_env import drain_jobs


@pytest.fixture(autouse=True)
def settle(api: Api) -> Iterator[None]:
    """No background work may outlive the test's database."""
    yield
    runner = getattr(api.client.app.state, "batch_runner", None)  # type: ignore[attr-defined]
    if runner is not None:
        assert runner.wait_idle(120)


def work(api: Api) -> None:
    """PostgreSQL: the workers' part (batch chunks, then deliveries), run here until done.
    SQLite: nothing, the API's own threads do it. Pending items without a job (the crash
    simulated below) get one from the reconciler's pass first."""
    if not api.store.is_sqlite:
        batch_jobs.redefer_orphaned_chunks(api.store, grace=0)
        engine = api.client.app.state.services.engine  # type: ignore[attr-defined]
        drain_jobs(api.store, api.client.app.state.services.box, engine=engine)  # type: ignore[attr-defined]


def poll(api: Api, batch_id: str, headers: dict[str, str], seconds: float = 120) -> dict[str, Any]:
    work(api)
    deadline = time.monotonic() + seconds
    while True:
        answer = api.client.get(f"/v1/batches/{batch_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        progress: dict[str, Any] = answer.json()
        if progress["status"] == "done" or time.monotonic() > deadline:
            return progress
        time.sleep(0.1)


def invoices(n: int, invalid: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    items = []
    for i in range(n):
        data = invoice_json(f"B-{i:04d}")
        if i in invalid:
            data["totals"] = {"amount_due": "1.00"}  # disagrees with the lines
        items.append(data)
    return items


def invoice_count(api: Api, tenant_id: str) -> int:
    with api.store.session() as s:
        count = s.scalar(select(func.count()).select_from(Invoice).where(Invoice.tenant_id == tenant_id))
        return int(count or 0)


def test_a_batch_is_accepted_at_once_and_reports_each_invoice(api: Api) -> None:
    a = api.a
    body = {"recipient": a.recipient, "invoices": invoices(20, invalid=frozenset({3, 17}))}
    answer = api.client.post("/v1/batches", json=body, headers={**a.headers, "Idempotency-Key": "run-1"})
    assert answer.status_code == 202, answer.text
    created = answer.json()
    assert created["total"] == 20
    assert created["id"].startswith("bat_")
    assert answer.headers["location"] == created["links"]["self"] == f"/v1/batches/{created['id']}"

    progress = poll(api, created["id"], a.headers)
    assert progress["status"] == "done"
    assert (progress["total"], progress["accepted"], progress["refused"], progress["pending"]) == (
        20,
        18,
        2,
        0,
    )
    assert [r["index"] for r in progress["refusals"]] == [3, 17]
    for refusal in progress["refusals"]:
        assert refusal["problems"]
        assert all(p["message"] for p in refusal["problems"])
    listed = [item["invoice"] for item in progress["invoices"]]
    assert [item["index"] for item in progress["invoices"]] == [i for i in range(20) if i not in (3, 17)]
    assert len(set(listed)) == 18
    first = api.client.get(f"/v1/invoices/{listed[0]}", headers=a.headers)
    assert first.status_code == 200
    assert first.json()["number"] == "B-0000"
    assert invoice_count(api, a.id) == 18

    # the same POST again (the client lost the answer): the same batch, nothing new
    again = api.client.post("/v1/batches", json=body, headers={**a.headers, "Idempotency-Key": "run-1"})
    assert again.status_code == 202
    assert again.json()["id"] == created["id"]
    assert again.headers["idempotent-replayed"] == "true"
    # the same key for other content is a conflict
    other = {"recipient": a.recipient, "invoices": invoices(2)}
    conflict = api.client.post("/v1/batches", json=other, headers={**a.headers, "Idempotency-Key": "run-1"})
    assert conflict.status_code == 409

    # a crash after the invoices were stored but before the outcomes were: run the items again
    with api.store.session() as s:
        s.execute(
            update(BatchItem)
            .where(BatchItem.batch_id == created["id"])
            .values(status="pending", invoice_id=None, problems=None)
        )
    again_progress = poll(api, created["id"], a.headers)  # reading resumes the batch
    assert (again_progress["accepted"], again_progress["refused"]) == (18, 2)
    assert [item["invoice"] for item in again_progress["invoices"]] == listed
    assert invoice_count(api, a.id) == 18


def test_ndjson_with_the_recipient_in_the_query(api: Api) -> None:
    a = api.a
    lines = "\n".join(json.dumps(item) for item in invoices(3)) + "\n"
    answer = api.client.post(
        f"/v1/batches?recipient={a.recipient}",
        content=lines.encode(),
        headers={**a.headers, "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 202, answer.text
    progress = poll(api, answer.json()["id"], a.headers)
    assert (progress["accepted"], progress["refused"]) == (3, 0)


def test_another_tenants_batch_is_not_found(api: Api) -> None:
    a, b = api.a, api.b
    answer = api.client.post(
        "/v1/batches", json={"recipient": a.recipient, "invoices": invoices(2)}, headers=a.headers
    )
    assert answer.status_code == 202
    batch_id = answer.json()["id"]
    assert api.client.get(f"/v1/batches/{batch_id}", headers=b.headers).status_code == 404
    assert api.client.get(f"/v1/batches/{batch_id}").status_code == 401
    # nor can b submit to a's recipient
    theirs = api.client.post(
        "/v1/batches", json={"recipient": a.recipient, "invoices": invoices(1)}, headers=b.headers
    )
    assert theirs.status_code == 404
    assert poll(api, batch_id, a.headers)["accepted"] == 2
    assert invoice_count(api, b.id) == 0


@pytest.mark.parametrize(
    ("content", "content_type", "status", "detail"),
    [
        (b"not json at all", "application/json", 422, "not JSON"),
        (b'{"recipient": "RCP", "invoices": []}', "application/json", 422, "no invoice"),
        (b"[]", "application/json", 422, "no invoice"),
        (b'{"recipient": "RCP", "invoices": [1]}', "application/json", 422, "invoices[0]"),
        (b'{"recipient": "RCP", "invoices": {}}', "application/json", 422, "JSON array"),
        (b"", "application/json", 422, "empty"),
        (b"{}\nnope\n", "application/x-ndjson", 422, "line 2"),
        (b"<Invoice/>", "application/xml", 415, "application/json"),
        (b'{"invoices": [{}]}', "application/json", 422, "recipient"),
        (b'{"recipient": "rcp_unknown", "invoices": [{}]}', "application/json", 404, "rcp_unknown"),
    ],
)
def test_bad_input_is_a_problem(
    api: Api, content: bytes, content_type: str, status: int, detail: str
) -> None:
    content = content.replace(b"RCP", api.a.recipient.encode())
    answer = api.client.post(
        "/v1/batches", content=content, headers={**api.a.headers, "Content-Type": content_type}
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert detail in answer.json()["detail"]


def test_over_the_limits(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "MAX_ITEMS", 3)
    body = {"recipient": api.a.recipient, "invoices": [{"number": str(i)} for i in range(4)]}
    answer = api.client.post("/v1/batches", json=body, headers=api.a.headers)
    assert answer.status_code == 413
    assert "at most 3" in answer.json()["detail"]
    huge = {"recipient": api.a.recipient, "invoices": [{"note": "x" * 300_000}]}
    assert api.client.post("/v1/batches", json=huge, headers=api.a.headers).status_code == 413


def test_the_batch_runner_stops_its_threads(api: Api) -> None:
    from gateway import batches

    runner = batches.BatchRunner(api.store, lambda: None, workers=2)  # type: ignore[arg-type,return-value]
    runner.stop(timeout=5)
    assert not any(thread.is_alive() for thread in runner._threads)
