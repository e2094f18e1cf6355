"""Tenant isolation: every getter given another tenant's id answers as if it did not exist."""

from __future__ import annotations

from gateway.recipients import RecipientPatch
from gateway.secretbox import SecretBox
from gateway.store import Store
from gateway.store import repository as repo
from tests.gateway.store.data import add_invoice, recipient_in


def test_tenant_a_sees_nothing_of_tenant_b(store: Store, box: SecretBox) -> None:
    with store.session() as s:
        a, _ = repo.create_tenant(s, "a")
        b, _ = repo.create_tenant(s, "b")
        recipient = repo.create_recipient(s, b.id, recipient_in(), box)
        invoice = add_invoice(s, b.id, recipient_id=recipient.id, idempotency_key="k-1")
        delivery = invoice.deliveries[0]
        repo.append_event(
            s,
            tenant_id=b.id,
            invoice_id=invoice.id,
            delivery_id=delivery.id,
            axis="transport",
            status="queued",
            previous="ready",
            source="pipeline",
        )
        webhook, _ = repo.create_webhook(s, b.id, "https://erp.b.example/hooks", box)
        evidence = repo.put_evidence(s, b.id, b"what B sent", "application/xml")
        ids = (recipient.id, invoice.id, delivery.id, webhook.id)

    recipient_id, invoice_id, delivery_id, webhook_id = ids
    with store.session() as s:
        # B sees its own rows (so the checks below are not vacuous)...
        assert repo.get_recipient(s, b.id, recipient_id) is not None
        assert repo.get_invoice(s, b.id, invoice_id) is not None
        assert repo.find_by_idempotency_key(s, b.id, "k-1") is not None
        assert repo.get_document(s, b.id, invoice_id, "ubl") is not None
        assert repo.get_delivery(s, b.id, delivery_id) is not None
        assert len(repo.list_events(s, b.id, invoice_id)) == 1
        assert repo.get_webhook(s, b.id, webhook_id) is not None
        assert repo.get_evidence(s, b.id, evidence) is not None
        assert repo.list_invoices(s, b.id)[0]
        # ...and A, holding every id, sees none of them.
        assert repo.get_recipient(s, a.id, recipient_id) is None
        assert repo.list_recipients(s, a.id) == []
        assert repo.update_recipient(s, a.id, recipient_id, RecipientPatch(name="x"), box) is None
        assert repo.get_invoice(s, a.id, invoice_id) is None
        assert repo.find_by_idempotency_key(s, a.id, "k-1") is None
        assert repo.get_document(s, a.id, invoice_id, "ubl") is None
        assert repo.get_delivery(s, a.id, delivery_id) is None
        assert repo.list_events(s, a.id, invoice_id) == []
        assert repo.get_webhook(s, a.id, webhook_id) is None
        assert repo.list_webhooks(s, a.id) == []
        assert repo.deactivate_webhook(s, a.id, webhook_id) is None
        assert repo.get_evidence(s, a.id, evidence) is None
        assert repo.list_invoices(s, a.id) == ([], None)
        assert repo.list_invoices(s, a.id, recipient=recipient_id) == ([], None)
        assert repo.list_api_keys(s, a.id)[0].tenant_id == a.id


def test_same_evidence_from_two_tenants_is_kept_for_each(store: Store) -> None:
    with store.session() as s:
        a, _ = repo.create_tenant(s, "a")
        b, _ = repo.create_tenant(s, "b")
        first = repo.put_evidence(s, a.id, b"same bytes", "text/plain")
        again = repo.put_evidence(s, a.id, b"same bytes", "text/plain")  # idempotent
        other = repo.put_evidence(s, b.id, b"same bytes", "text/plain")
        assert first == again == other
    with store.session() as s:
        for tenant in (a.id, b.id):
            row = repo.get_evidence(s, tenant, first)
            assert row is not None
            assert row.content == b"same bytes"
