"""Shared fixtures of the pipeline, delivery and runner tests: both databases, a fake channel.

Imported by name into ``test_pipeline.py``, ``test_delivery.py`` and ``test_runner.py``.
Every test gets its own migrated database (SQLite and PostgreSQL, see
``gateway.store.testing``); PostgreSQL is skipped when unreachable, unless ``CI`` is set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from connectors.base import DeliveryResult, OutgoingDocument
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.models import Delivery, Invoice, new_id, utcnow
from gateway.store.testing import MigratedTemplates
from tests.gateway.store.data import add_ubl_document


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("delivery-store"))
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, store_templates: MigratedTemplates) -> Iterator[Store]:
    with store_templates.store(request.param) as store:
        yield store


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(bytes(range(32)))


@pytest.fixture
def tenant_id(store: Store) -> str:
    with store.session() as s:
        tenant, _key = repository.create_tenant(s, f"acme-{new_id('t')[-8:]}")
        return tenant.id


class FakeConnector:
    """Plays back ``outcomes`` (an exception to raise, or ``"ok"``), one per send, then ``"ok"``."""

    def __init__(self, outcomes: Sequence[Any] = (), *, delay: float = 0.0) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, list[OutgoingDocument], dict[str, Any], dict[str, str]]] = []
        self.delay = delay
        self._lock = threading.Lock()

    def send(
        self,
        documents: Sequence[OutgoingDocument],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        delivery_id: str,
    ) -> DeliveryResult:
        with self._lock:
            self.calls.append((delivery_id, list(documents), dict(settings), dict(secrets)))
            outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if self.delay:
            threading.Event().wait(self.delay)
        if isinstance(outcome, BaseException):
            raise outcome
        return DeliveryResult(
            remote_reference=f"fake:{delivery_id}", raw_code="250", sent=b"sent bytes", received=b"250 ok"
        )


def make_delivery(
    store: Store,
    tenant_id: str,
    *,
    status: str = "queued",
    channel_type: str = "fake",
    max_attempts: int = 8,
    attempts: int = 0,
    updated_at: datetime | None = None,
    next_attempt_at: datetime | None = None,
) -> str:
    """An invoice with one UBL document and one delivery of it, written straight to the tables."""
    with store.session() as s:
        return add_delivery_rows(
            s,
            tenant_id,
            status=status,
            channel_type=channel_type,
            max_attempts=max_attempts,
            attempts=attempts,
            updated_at=updated_at,
            next_attempt_at=next_attempt_at,
        )


def add_delivery_rows(
    s: Session,
    tenant_id: str,
    *,
    status: str = "queued",
    channel_type: str = "fake",
    channel_name: str = "main",
    settings: dict[str, Any] | None = None,
    number: str = "T-1",
    content: bytes = b"<Invoice>test</Invoice>",
    recipient_id: str | None = None,
    max_attempts: int = 8,
    attempts: int = 0,
    updated_at: datetime | None = None,
    next_attempt_at: datetime | None = None,
) -> str:
    """``make_delivery`` in the caller's session (flushed, not committed): a test can defer its
    job in the same transaction."""
    invoice = Invoice(
        tenant_id=tenant_id,
        recipient_id=recipient_id,
        request_sha256="0" * 64,
        number=number,
        source_kind="ubl",
        status=status,
    )
    s.add(invoice)
    s.flush()
    add_ubl_document(s, tenant_id, invoice.id, number, content)
    delivery_id = new_id("dlv")
    now = utcnow()
    s.add(
        Delivery(
            id=delivery_id,
            tenant_id=tenant_id,
            invoice_id=invoice.id,
            channel_type=channel_type,
            channel_name=channel_name,
            settings=settings or {},
            document_kinds=["ubl"],
            status=status,
            attempts=attempts,
            max_attempts=max_attempts,
            next_attempt_at=next_attempt_at or now,
            payload_id=f"{delivery_id}@gateway",
            created_at=now,
            updated_at=updated_at or now,
        )
    )
    s.flush()
    return delivery_id


def delivery(store: Store, delivery_id: str) -> Delivery:
    with store.session() as s:
        found = s.get(Delivery, delivery_id)
        assert found is not None
        return found


def transport_events(store: Store, tenant_id: str, delivery_id: str) -> list[tuple[str | None, str]]:
    """(previous, status) of a delivery's transport events, in order."""
    with store.session() as s:
        d = s.get(Delivery, delivery_id)
        assert d is not None
        events = repository.list_events(s, tenant_id, d.invoice_id)
        return [
            (e.previous, e.status) for e in events if e.delivery_id == delivery_id and e.axis == "transport"
        ]


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The validation engine with the corpus rule packs (CEN, Peppol, XRechnung, CII D16B XSD)."""
    from schemas.artefacts import RuleStore
    from schemas.engine import Engine
    from tests.schemas.conformance.corpus import CORPUS, MISSING, available

    if not available():
        pytest.skip(MISSING)
    rules = RuleStore(tmp_path_factory.mktemp("pipeline-rules"))
    for pack in (CORPUS / "rules", CORPUS / "rules-compiled", CORPUS / "xsd" / "cii-d16b"):
        result = rules.install(pack)
        assert result.installed, f"nothing installed from {pack}: {result.skipped}"
    return Engine(store=rules)
