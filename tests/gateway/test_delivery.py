"""One delivery attempt: claim, send, record; retries, failures, operators, and races."""

# The shared fixtures are imported by name (pytest finds them in the module): F401/F811 are expected.
# ruff: noqa: F401, F811

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest

from connectors.base import PermanentDeliveryError, TransientDeliveryError
from gateway.delivery import BACKOFF_BASE, BACKOFF_CAP, backoff_delay, invoice_summary, run_delivery
from gateway.lifecycle import InvalidTransition
from gateway.operations import cancel_delivery, retry_delivery
from gateway.recipients import RecipientIn
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.models import Invoice, utcnow
from tests.gateway.delivery_env import (
    FakeConnector,
    box,
    delivery,
    make_delivery,
    store,
    store_templates,
    tenant_id,
    transport_events,
)


def _run(store: Store, delivery_id: str, fake: FakeConnector, sbox: SecretBox, **kw: Any) -> str:
    return run_delivery(store, delivery_id, connectors={"fake": fake}, box=sbox, **kw)


def test_a_transient_error_retries_later_then_delivers(store: Store, tenant_id: str, box: SecretBox) -> None:
    did = make_delivery(store, tenant_id)
    fake = FakeConnector(
        [TransientDeliveryError("HTTP 503 from the receiver", raw_code="503", received=b"busy")]
    )
    before = utcnow()
    assert _run(store, did, fake, box) == "retrying"
    d = delivery(store, did)
    assert d.attempts == 1
    assert d.last_error == "HTTP 503 from the receiver"
    assert d.next_attempt_at is not None
    assert before <= d.next_attempt_at <= utcnow() + timedelta(seconds=BACKOFF_BASE)

    # not due yet: left alone, nothing sent
    assert _run(store, did, fake, box, now=lambda: before) == "retrying"
    assert len(fake.calls) == 1

    due = d.next_attempt_at + timedelta(milliseconds=1)
    assert _run(store, did, fake, box, now=lambda: due) == "delivered"
    d = delivery(store, did)
    assert (d.attempts, d.remote_reference, d.last_error, d.next_attempt_at) == (2, f"fake:{did}", None, None)
    assert transport_events(store, tenant_id, did) == [
        ("queued", "sending"),
        ("sending", "retrying"),
        ("retrying", "sending"),
        ("sending", "delivered"),
    ]
    with store.session() as s:
        events = [e for e in repository.list_events(s, tenant_id, d.invoice_id) if e.delivery_id == did]
        retry = events[1]
        assert (retry.raw_code, retry.attempt, retry.source) == ("503", 1, "channel:fake")
        assert retry.evidence_sha256 is not None
        assert repository.get_evidence(s, tenant_id, retry.evidence_sha256) is not None
        invoice = s.get(Invoice, d.invoice_id)
        assert invoice is not None
        assert invoice.status == "delivered"


def test_a_permanent_error_fails_at_once(store: Store, tenant_id: str, box: SecretBox) -> None:
    did = make_delivery(store, tenant_id)
    fake = FakeConnector([PermanentDeliveryError("authentication refused", raw_code="401")])
    assert _run(store, did, fake, box) == "failed"
    d = delivery(store, did)
    assert d.attempts == 1
    assert d.last_error == "authentication refused"
    assert d.next_attempt_at is None
    with store.session() as s:
        last = repository.list_events(s, tenant_id, d.invoice_id)[-1]
        assert (last.status, last.final, last.raw_code) == ("failed", True, "401")
        invoice = s.get(Invoice, d.invoice_id)
        assert invoice is not None
        assert invoice.status == "failed"
    # failed is not picked up again by itself
    assert _run(store, did, fake, box) == "failed"
    assert len(fake.calls) == 1


def test_retries_exhausted_fail(store: Store, tenant_id: str, box: SecretBox) -> None:
    did = make_delivery(store, tenant_id, max_attempts=2)
    fake = FakeConnector([TransientDeliveryError("timeout"), TransientDeliveryError("timeout")])
    assert _run(store, did, fake, box) == "retrying"
    later = utcnow() + timedelta(hours=2)
    assert _run(store, did, fake, box, now=lambda: later) == "failed"
    d = delivery(store, did)
    assert d.attempts == 2
    assert d.last_error == "timeout (gave up after 2 attempts)"


def test_an_operator_retry_requeues_a_failed_delivery(store: Store, tenant_id: str, box: SecretBox) -> None:
    did = make_delivery(store, tenant_id, max_attempts=1)
    fake = FakeConnector([TransientDeliveryError("timeout")])
    assert _run(store, did, fake, box) == "failed"
    with store.session() as s:
        d = retry_delivery(s, tenant_id, did)
        assert d is not None
        assert d.status == "queued"
        assert d.max_attempts > d.attempts
    with store.session() as s:
        last = repository.list_events(s, tenant_id, delivery(store, did).invoice_id)[-1]
        assert (last.previous, last.status, last.source) == ("failed", "queued", "operator")
    assert _run(store, did, fake, box) == "delivered"
    with store.session() as s, pytest.raises(InvalidTransition, match="delivered"):
        retry_delivery(s, tenant_id, did)


def test_a_canceled_delivery_is_never_sent(store: Store, tenant_id: str, box: SecretBox) -> None:
    did = make_delivery(store, tenant_id)
    with store.session() as s:
        canceled = cancel_delivery(s, tenant_id, did)
        assert canceled is not None
        assert canceled.status == "canceled"
    fake = FakeConnector()
    assert _run(store, did, fake, box) == "canceled"
    assert fake.calls == []
    with store.session() as s:
        invoice = s.get(Invoice, delivery(store, did).invoice_id)
        assert invoice is not None
        assert invoice.status == "canceled"
        with pytest.raises(InvalidTransition):
            retry_delivery(s, tenant_id, did)


def test_a_delivered_delivery_cannot_be_canceled(store: Store, tenant_id: str, box: SecretBox) -> None:
    did = make_delivery(store, tenant_id)
    assert _run(store, did, FakeConnector(), box) == "delivered"
    with store.session() as s, pytest.raises(InvalidTransition, match="delivered to canceled"):
        cancel_delivery(s, tenant_id, did)


def test_operations_are_tenant_scoped(store: Store, tenant_id: str, box: SecretBox) -> None:
    did = make_delivery(store, tenant_id, status="failed")
    with store.session() as s:
        other, _ = repository.create_tenant(s, "intruder")
        assert retry_delivery(s, other.id, did) is None
        assert cancel_delivery(s, other.id, did) is None
    assert delivery(store, did).status == "failed"


def test_two_workers_racing_for_one_delivery_send_it_once(
    store: Store, tenant_id: str, box: SecretBox
) -> None:
    did = make_delivery(store, tenant_id)
    fake = FakeConnector(delay=0.3)
    start = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        start.wait()
        results.append(_run(store, did, fake, box))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(fake.calls) == 1
    assert sorted(results) == ["delivered", "sending"]
    assert delivery(store, did).attempts == 1


def test_a_connector_bug_is_transient_and_logged_without_its_message(
    store: Store,
    tenant_id: str,
    box: SecretBox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    did = make_delivery(store, tenant_id)
    fake = FakeConnector([RuntimeError("password=hunter2 leaked into a message")])
    with caplog.at_level(logging.ERROR, logger="gateway.delivery"):
        assert _run(store, did, fake, box) == "retrying"
    assert "RuntimeError" in caplog.text
    assert "hunter2" not in caplog.text
    d = delivery(store, did)
    assert d.last_error is not None
    assert "hunter2" not in d.last_error


def test_an_unknown_channel_type_fails_permanently(store: Store, tenant_id: str, box: SecretBox) -> None:
    did = make_delivery(store, tenant_id, channel_type="carrier-pigeon")
    assert _run(store, did, FakeConnector(), box) == "failed"
    assert "no connector for channel type 'carrier-pigeon'" in (delivery(store, did).last_error or "")


def test_the_connector_gets_the_documents_and_the_channels_secrets(
    store: Store,
    tenant_id: str,
    box: SecretBox,
) -> None:
    did = make_delivery(store, tenant_id, channel_type="http")
    data = RecipientIn.model_validate(
        {
            "name": "buyer",
            "buyer": {"name": "Buyer AG"},
            "formats": [{"kind": "ubl"}],
            "channels": [
                {
                    "type": "http",
                    "name": "main",
                    "settings": {"url": "https://example.org/in"},
                    "secrets": {"bearer_token": "tok-123"},
                }
            ],
        }
    )
    with store.session() as s:
        recipient = repository.create_recipient(s, tenant_id, data, box)
        invoice = s.get(Invoice, delivery(store, did).invoice_id)
        assert invoice is not None
        invoice.recipient_id = recipient.id
    fake = FakeConnector()
    assert run_delivery(store, did, connectors={"http": fake}, box=box) == "delivered"
    [(sent_id, documents, settings, secrets)] = fake.calls
    assert sent_id == did
    assert secrets == {"bearer_token": "tok-123"}
    assert [(d.kind, d.filename, d.content) for d in documents] == [
        ("ubl", "T-1.xml", b"<Invoice>test</Invoice>")
    ]
    assert settings["payload_id"] == f"{did}@gateway"
    # a box with another master key cannot open them: the delivery fails, saying why, without sending
    other = make_delivery(store, tenant_id, channel_type="http")
    with store.session() as s:
        invoice = s.get(Invoice, delivery(store, other).invoice_id)
        assert invoice is not None
        invoice.recipient_id = recipient.id
    wrong = SecretBox(bytes(32))
    assert run_delivery(store, other, connectors={"http": fake}, box=wrong) == "failed"
    assert len(fake.calls) == 1
    assert "secrets cannot be opened" in (delivery(store, other).last_error or "")


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    assert backoff_delay(1, rng=lambda lo, hi: hi) == BACKOFF_BASE
    assert backoff_delay(4, rng=lambda lo, hi: hi) == BACKOFF_BASE * 8
    assert backoff_delay(40, rng=lambda lo, hi: hi) == BACKOFF_CAP
    assert backoff_delay(5, rng=lambda lo, hi: lo) == 0.0
    samples = [backoff_delay(6) for _ in range(200)]
    assert all(0 <= x <= BACKOFF_BASE * 32 for x in samples)
    assert len(set(samples)) > 100


@pytest.mark.parametrize(
    ("statuses", "summary"),
    [
        (["queued"], "queued"),
        (["delivered", "retrying"], "retrying"),
        (["delivered", "acknowledged"], "delivered"),
        (["delivered", "failed"], "failed"),
        (["canceled", "delivered"], "delivered"),
        (["canceled", "canceled"], "canceled"),
        ([], None),
    ],
)
def test_the_invoice_shows_its_least_advanced_delivery(statuses: list[str], summary: str | None) -> None:
    assert invoice_summary(statuses) == summary


def test_each_attempt_is_one_json_log_line_with_the_invoice_id(
    store: Store, tenant_id: str, box: SecretBox
) -> None:
    import io
    import json

    from gateway import logging as gwlog

    buffer = io.StringIO()
    gwlog.configure(json=True, stream=buffer)
    try:
        did = make_delivery(store, tenant_id)
        assert _run(store, did, FakeConnector([]), box) == "delivered"
    finally:
        gwlog.configure(json=True)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    [attempt] = [line for line in lines if line["event"] == "delivery.attempted"]
    assert attempt["invoice_id"] == delivery(store, did).invoice_id
    assert (attempt["delivery_id"], attempt["status"], attempt["attempt"]) == (did, "delivered", 1)
