"""Events are append-only and bring their webhook outbox rows; a unit of work is all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.secretbox import SecretBox
from gateway.store import Store
from gateway.store import repository as repo
from gateway.store.models import Delivery, Document, Event, Invoice, WebhookMessage
from tests.gateway.store.data import add_invoice


def _event(s, tenant: str, invoice: Invoice, **kw: Any):
    args: dict[str, Any] = {
        "tenant_id": tenant,
        "invoice_id": invoice.id,
        "delivery_id": invoice.deliveries[0].id,
        "axis": "transport",
        "status": "sending",
        "previous": "queued",
        "source": "worker",
    }
    return repo.append_event(s, **(args | kw))


def test_events_are_appended_in_order(store: Store) -> None:
    with store.session() as s:
        tenant, _ = repo.create_tenant(s, "acme")
        invoice = add_invoice(s, tenant.id)
        for status, previous in (("accepted", None), ("validating", "accepted"), ("ready", "validating")):
            _event(
                s, tenant.id, invoice, status=status, previous=previous, delivery_id=None, source="pipeline"
            )
        _event(s, tenant.id, invoice, status="sending", attempt=1)
        _event(
            s,
            tenant.id,
            invoice,
            status="delivered",
            previous="sending",
            final=False,
            evidence_sha256="ab" * 32,
            raw_code="226",
            reason="transfer complete",
        )
        _event(
            s, tenant.id, invoice, axis="business", status="paid", previous=None, source="ariba", final=True
        )
    with store.session() as s:
        events = repo.list_events(s, tenant.id, invoice.id)
    assert [(e.axis, e.status) for e in events] == [
        ("transport", "accepted"),
        ("transport", "validating"),
        ("transport", "ready"),
        ("transport", "sending"),
        ("transport", "delivered"),
        ("business", "paid"),
    ]
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert events[4].raw_code == "226"
    assert events[4].evidence_sha256 == "ab" * 32
    assert events[3].attempt == 1
    assert events[5].final is True
    assert all(e.created_at.tzinfo is not None for e in events)


def test_append_event_never_updates(store: Store) -> None:
    """A second event with the same status is a new row; the first is unchanged."""
    with store.session() as s:
        tenant, _ = repo.create_tenant(s, "acme")
        invoice = add_invoice(s, tenant.id)
        first = _event(s, tenant.id, invoice, status="retrying", reason="timeout")
        second = _event(s, tenant.id, invoice, status="retrying", reason="refused")
        assert first.id != second.id
    with store.session() as s:
        rows = repo.list_events(s, tenant.id, invoice.id)
        assert [e.reason for e in rows] == ["timeout", "refused"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"axis": "sideways"}, "unknown axis"),
        ({"status": "lost"}, "not a transport status"),
        ({"axis": "business", "status": "sending"}, "not a business status"),
    ],
)
def test_append_event_refuses_unknown_axis_or_status(store: Store, kw, message: str) -> None:
    with store.session() as s:
        tenant, _ = repo.create_tenant(s, "acme")
        invoice = add_invoice(s, tenant.id)
        with pytest.raises(ValueError, match=message):
            _event(s, tenant.id, invoice, **kw)


def test_webhook_outbox_rows_come_with_the_event(store: Store, box: SecretBox) -> None:
    with store.session() as s:
        tenant, _ = repo.create_tenant(s, "acme")
        other, _ = repo.create_tenant(s, "other")
        hook, secret = repo.create_webhook(s, tenant.id, "https://erp.example.com/hooks", box)
        second, _ = repo.create_webhook(s, tenant.id, "http://127.0.0.1:8080/hooks", box)
        off, _ = repo.create_webhook(s, tenant.id, "https://old.example.com/hooks", box)
        repo.deactivate_webhook(s, tenant.id, off.id)
        repo.create_webhook(s, other.id, "https://other.example.com/hooks", box)
        invoice = add_invoice(s, tenant.id)
        event = _event(s, tenant.id, invoice, status="delivered", previous="sending", raw_code="250")
        invoice_event = _event(
            s,
            tenant.id,
            invoice,
            delivery_id=None,
            axis="business",
            status="approved",
            previous=None,
            source="ariba",
        )
    assert secret.startswith("whsec_")
    with store.session() as s:
        stored = repo.get_webhook(s, tenant.id, hook.id)
        assert stored is not None
        assert repo.webhook_secret(stored, box) == secret
        assert secret.encode() not in stored.secret
        messages = s.scalars(select(WebhookMessage).order_by(WebhookMessage.event_id)).all()
    assert {(m.webhook_id, m.event_id) for m in messages} == {
        (hook.id, event.id),
        (second.id, event.id),
        (hook.id, invoice_event.id),
        (second.id, invoice_event.id),
    }
    assert all(m.tenant_id == tenant.id and m.status == "pending" and m.attempts == 0 for m in messages)
    payload = next(m.payload for m in messages if m.event_id == event.id)
    assert payload["type"] == "delivery.status_changed"
    assert payload["timestamp"].endswith("Z")
    assert payload["data"]["status"] == "delivered"
    assert payload["data"]["raw_code"] == "250"
    assert payload["data"]["invoice_id"] == invoice.id
    assert payload["data"]["event_id"] == event.id
    later = next(m.payload for m in messages if m.event_id == invoice_event.id)
    assert later["type"] == "invoice.status_changed"
    assert later["data"]["axis"] == "business"


def test_no_webhook_no_outbox(store: Store) -> None:
    with store.session() as s:
        tenant, _ = repo.create_tenant(s, "acme")
        _event(s, tenant.id, add_invoice(s, tenant.id))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(WebhookMessage)) == 0


def test_webhook_urls_are_checked(store: Store, box: SecretBox) -> None:
    with store.session() as s:
        tenant, _ = repo.create_tenant(s, "acme")
        with pytest.raises(ValueError, match="https"):
            repo.create_webhook(s, tenant.id, "http://erp.example.com/hooks", box)


def test_unit_of_work_rolls_back_everything(store: Store, box: SecretBox) -> None:
    with store.session() as s:
        tenant, _ = repo.create_tenant(s, "acme")
        repo.create_webhook(s, tenant.id, "https://erp.example.com/hooks", box)

    class Boom(Exception):
        pass

    def submit_then_fail() -> None:
        with store.session() as s:
            invoice = add_invoice(s, tenant.id, idempotency_key="k")
            _event(s, tenant.id, invoice, status="queued", previous="ready", source="pipeline")
            repo.put_evidence(s, tenant.id, b"sent", "text/plain")
            s.flush()
            assert s.scalar(select(func.count()).select_from(WebhookMessage)) == 1  # written, uncommitted
            raise Boom

    with pytest.raises(Boom):
        submit_then_fail()
    with store.session() as s:
        for model in (Invoice, Document, Delivery, Event, WebhookMessage):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model.__name__
        assert repo.find_by_idempotency_key(s, tenant.id, "k") is None
        assert repo.get_evidence(s, tenant.id, repo._sha256(b"sent")) is None
