"""Listing invoices: keyset pages that neither skip nor repeat, filters, opaque cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.secretbox import SecretBox
from gateway.store import Store
from gateway.store import repository as repo
from tests.gateway.store.data import add_invoice, recipient_in

BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded(store: Store, box: SecretBox) -> tuple[Store, str, str, list[str]]:
    """25 invoices over 5 days (pairs share a timestamp: ties broken by id), two statuses."""
    with store.session() as s:
        tenant, _ = repo.create_tenant(s, "acme")
        other, _ = repo.create_tenant(s, "other")
        recipient = repo.create_recipient(s, tenant.id, recipient_in(), box)
        ids = []
        for n in range(25):
            created = BASE + timedelta(hours=5 * (n // 2))  # 0,0,5,5,10,10…
            invoice = add_invoice(
                s,
                tenant.id,
                number=f"INV-{n}",
                created_at=created,
                status="delivered" if n % 3 == 0 else "queued",
                recipient_id=recipient.id if n % 2 == 0 else None,
                with_children=False,
            )
            ids.append(invoice.id)
        add_invoice(s, other.id, number="NOT-MINE", created_at=BASE, with_children=False)
    return store, tenant.id, recipient.id, ids


def _all_pages(store: Store, tenant: str, limit: int, **filters) -> list[str]:
    seen, cursor, pages = [], None, 0
    while True:
        with store.session() as s:
            rows, cursor = repo.list_invoices(s, tenant, limit=limit, cursor=cursor, **filters)
        seen += [r.id for r in rows]
        pages += 1
        assert pages < 100
        if cursor is None:
            return seen


def test_pages_cover_everything_once_newest_first(seeded) -> None:
    store, tenant, _, ids = seeded
    for limit in (1, 4, 7, 25, 100):
        got = _all_pages(store, tenant, limit)
        assert sorted(got) == sorted(ids)
        assert len(set(got)) == len(got)
    with store.session() as s:
        rows, cursor = repo.list_invoices(s, tenant, limit=30)
    assert cursor is None
    keys = [(r.created_at, r.id) for r in rows]
    assert keys == sorted(keys, reverse=True)


def test_filters(seeded) -> None:
    store, tenant, recipient, ids = seeded
    delivered = {ids[n] for n in range(25) if n % 3 == 0}
    assert set(_all_pages(store, tenant, 3, status="delivered")) == delivered
    mine = {ids[n] for n in range(0, 25, 2)}
    assert set(_all_pages(store, tenant, 3, recipient=recipient)) == mine
    # 5-hour steps: day 1 (2025-03-01) holds n=0..5 (12:00, 17:00, 22:00)
    day1 = set(_all_pages(store, tenant, 2, date_from=date(2025, 3, 1), date_to=date(2025, 3, 1)))
    assert day1 == set(ids[:6])
    since = set(_all_pages(store, tenant, 4, date_from=BASE + timedelta(hours=10)))
    assert since == set(ids[4:])
    until = set(_all_pages(store, tenant, 4, date_to=BASE + timedelta(hours=10)))  # exclusive
    assert until == set(ids[:4])
    both = set(_all_pages(store, tenant, 2, status="delivered", recipient=recipient))
    assert both == delivered & mine


@pytest.mark.parametrize("cursor", ["garbage", "", "e30", "WyJ4IiwxXQ", "!!!"])
def test_foreign_cursors_are_refused(seeded, cursor: str) -> None:
    store, tenant, _, _ = seeded
    with store.session() as s, pytest.raises(repo.InvalidCursor, match="cursor"):
        repo.list_invoices(s, tenant, cursor=cursor)


def test_idempotency_key_lookup(store: Store) -> None:
    with store.session() as s:
        tenant, _ = repo.create_tenant(s, "acme")
        invoice = add_invoice(s, tenant.id, idempotency_key="order-42")
    with store.session() as s:
        found = repo.find_by_idempotency_key(s, tenant.id, "order-42")
        assert found is not None
        assert found.id == invoice.id
        assert repo.find_by_idempotency_key(s, tenant.id, "order-43") is None
        document = repo.get_document(s, tenant.id, invoice.id, "ubl")
        assert document is not None
        assert document.content.startswith(b"<Invoice>")
        assert repo.get_document(s, tenant.id, invoice.id, "cii") is None


def test_counts_for_metrics(store: Store) -> None:
    with store.session() as s:
        a, _ = repo.create_tenant(s, "a")
        b, _ = repo.create_tenant(s, "b")
        add_invoice(s, a.id, status="queued")
        add_invoice(s, a.id, status="delivered")
        add_invoice(s, b.id, status="queued")
    with store.session() as s:
        assert repo.invoice_counts_by_status(s) == {"queued": 2, "delivered": 1}
        assert repo.delivery_counts(s) == {("folder", "queued"): 2, ("folder", "delivered"): 1}
