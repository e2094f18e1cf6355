"""The store's tables (SQLAlchemy 2): the same schema on SQLite (embedded) and PostgreSQL.

Every row that belongs to a customer carries ``tenant_id``, and every query of the API
filters on it (``repository.py``): an id of another tenant is simply not found. Ids are
random (``inv_`` + 32 hex digits…): guessing one is hopeless and says nothing about volume.

* ``Tenant`` and ``ApiKey``: keys are stored as SHA-256 of the whole token (a key is 32
  random bytes: no dictionary to attack, so a slow hash buys nothing); the first characters
  (``prefix``) find the row.
* ``Recipient``: the buyer, the formats it wants, and its channels. Channel settings that
  are secret (passwords, private keys, shared secrets) are sealed with the gateway's
  ``SecretBox`` in ``secrets`` and never leave the store in clear.
* ``Invoice``: one accepted submission, with its ``Idempotency-Key`` and the SHA-256 of the
  request it came with. Its documents and deliveries are written in the same transaction.
* ``Document``: the bytes of each rendering (UBL, CII, Factur-X, PDF, cXML, the source
  document, the validation report), with their SHA-256.
* ``Delivery``: one per channel: the transport axis, the business axis, attempts, when the
  next attempt is due, and the last error.
* ``Event``: append-only: every status change of either axis, with its source, raw code,
  reason and the SHA-256 of the evidence (what was sent, what came back). Never updated.
* ``Evidence``: the evidence bytes an event's hash points to (what the connector sent and
  what came back), kept for disputes.
* ``Webhook`` and ``WebhookMessage``: the ERP's endpoints, and an outbox of the signed
  status notifications still to send (retried with backoff).
* ``Batch`` and ``BatchItem``: a batch submission (``POST /v1/batches``) and each of its
  invoices as received, with its outcome (the invoice, or the problems it was refused for):
  the request is kept until every item went through the pipeline, so a crash loses nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ApiKey",
    "Base",
    "Batch",
    "BatchItem",
    "Delivery",
    "Document",
    "Event",
    "Evidence",
    "Invoice",
    "Recipient",
    "Tenant",
    "Webhook",
    "WebhookMessage",
    "new_id",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """``inv_3f2a…``: a random id with a prefix saying what it names."""
    return f"{prefix}_{uuid.uuid4().hex}"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps no time zone: stored naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ten"))
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Recipient(Base):
    __tablename__ = "recipients"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rcp"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # the buyer as the recipient registry knows it (name, identifiers, electronic address)
    buyer: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # what the buyer wants: [{"kind": "ubl", "profile": "peppol"}, {"kind": "facturx", ...}]
    formats: Mapped[list[Any]] = mapped_column(default=list)
    # [{"type": "folder"|"sftp"|"email"|"ariba"|"http", "name": ..., "settings": {...}}];
    # secret settings are not here but sealed in ``secrets`` (channel name → {key: value})
    channels: Mapped[list[Any]] = mapped_column(default=list)
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sign_key: Mapped[str | None] = mapped_column(String(64), default=None)  # a key in the vault
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_invoices_tenant_created", "tenant_id", "created_at"),
        Index("ix_invoices_tenant_status", "tenant_id", "status"),
        # the idempotency lookup's own way in (repository.find_by_idempotency_key, migration 0004)
        Index(
            "ix_invoices_idempotency_key",
            "idempotency_key",
            postgresql_where=text("idempotency_key IS NOT NULL"),
            sqlite_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("inv"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    recipient_id: Mapped[str | None] = mapped_column(ForeignKey("recipients.id"), default=None, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_sha256: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(200))
    issue_date: Mapped[str | None] = mapped_column(String(10), default=None)  # ISO date
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    amount_due: Mapped[str | None] = mapped_column(String(40), default=None)  # exact Decimal text
    buyer_name: Mapped[str | None] = mapped_column(String(300), default=None)
    source_kind: Mapped[str] = mapped_column(String(20))  # json | ubl | cii | facturx
    # summary of the deliveries' transport axis and the buyer's latest business status
    status: Mapped[str] = mapped_column(String(30))
    business_status: Mapped[str | None] = mapped_column(String(30), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    documents: Mapped[list[Document]] = relationship(back_populates="invoice", order_by="Document.kind")
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="invoice", order_by="Delivery.created_at"
    )


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("invoice_id", "kind"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("doc"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # ubl | cii | facturx | pdf | cxml | source | report
    media_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    signed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="documents")


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_tenant_status", "tenant_id", "status"),
        # the dashboard's counts of the day and the week (migration 0005)
        Index("ix_deliveries_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("dlv"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    channel_type: Mapped[str] = mapped_column(String(20))  # folder | sftp | email | ariba | http
    channel_name: Mapped[str] = mapped_column(String(100))
    # the channel's settings as they were when the invoice was accepted (no secrets)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    document_kinds: Mapped[list[Any]] = mapped_column(default=list)  # which documents it carries
    status: Mapped[str] = mapped_column(String(30))
    business_status: Mapped[str | None] = mapped_column(String(30), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    remote_reference: Mapped[str | None] = mapped_column(String(500), default=None)
    # a stable id for this delivery's sends (cXML payloadID, file names): a repeat is recognisable
    payload_id: Mapped[str] = mapped_column(String(200))
    # optimistic locking: two workers cannot both move the same delivery
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="deliveries")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is


TRANSPORT_OUTCOMES_SQL = (
    "axis = 'transport' AND status IN ('delivered', 'retrying', 'failed', 'rejected_technical')"
)


class Event(Base):
    """Append-only: a status change (or a notable fact) with its evidence. Never updated."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_invoice", "invoice_id", "id"),
        # the dashboard's failures and times to delivered of the week: only the transport
        # outcomes, so the other events (most of them) cost no second index entry (0005)
        Index(
            "ix_events_transport_outcomes",
            "tenant_id",
            "created_at",
            postgresql_where=text(TRANSPORT_OUTCOMES_SQL),
            sqlite_where=text(TRANSPORT_OUTCOMES_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    delivery_id: Mapped[str | None] = mapped_column(ForeignKey("deliveries.id"), default=None, index=True)
    axis: Mapped[str] = mapped_column(String(10))  # transport | business
    status: Mapped[str] = mapped_column(String(30))
    previous: Mapped[str | None] = mapped_column(String(30), default=None)
    source: Mapped[str] = mapped_column(String(100))  # pipeline | worker | operator | channel | ariba …
    raw_code: Mapped[str | None] = mapped_column(String(100), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    attempt: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Evidence(Base):
    """Keyed by tenant and hash: the same bytes from two tenants are two rows, and whether a
    tenant holds some evidence says nothing about another's."""

    __tablename__ = "evidence"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("whk"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[bytes] = mapped_column(LargeBinary)  # sealed ``whsec_…`` signing secret
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookMessage(Base):
    """The outbox: one signed notification per (webhook, event), sent with retries."""

    __tablename__ = "webhook_messages"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_webhook_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("msg"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Batch(Base):
    """A batch submission: one recipient, many invoices (``gateway/batches.py``)."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("tenant_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("bat"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("recipients.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_sha256: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchItem(Base):
    """One invoice of a batch: ``pending`` until the pipeline decided, then ``accepted`` (with
    its invoice) or ``refused`` (with a summary of its problems)."""

    __tablename__ = "batch_items"
    # partial: "this item, if still pending" must never walk the batch (migration 0004)
    __table_args__ = (
        Index(
            "ix_batch_items_pending",
            "batch_id",
            "position",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | accepted | refused
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), default=None)
    problems: Mapped[list[Any] | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
