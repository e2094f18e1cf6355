"""Every query the service makes, each scoped to one tenant.

Every function that reads or writes customer data takes the ``tenant_id`` and filters on it:
another tenant's id is indistinguishable from an id that does not exist (the API answers 404,
never 403). Functions take the caller's ``Session`` and never commit: the unit of work
(``Store.session()``) decides, so an invoice, its documents, deliveries and events are
written together or not at all.

* API keys: ``gw_`` + 43 URL-safe base64 characters (32 random bytes). Only the SHA-256 of
  the whole token is stored, with its first 12 characters as a lookup prefix; the hash is
  compared in constant time. 256 random bits need no slow hash: there is no dictionary.
* Secrets (recipient channels, webhook signing secrets) are sealed with the ``SecretBox``;
  the associated data binds each ciphertext to its tenant, recipient (or webhook) and
  channel, so a sealed value copied elsewhere does not open.
* Events are only ever inserted; ``append_event`` also writes, in the same transaction, one
  outbox row (``WebhookMessage``) per active webhook of the tenant.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Numeric, Table, and_, bindparam, func, insert, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, defer

from gateway.lifecycle import BusinessStatus, TransportStatus
from gateway.recipients import (
    RecipientIn,
    RecipientPatch,
    channel_settings,
    check_required_secrets,
    check_url,
)
from gateway.secretbox import SecretBox
from gateway.store.models import (
    ApiKey,
    Delivery,
    Document,
    Event,
    Evidence,
    Invoice,
    Recipient,
    Tenant,
    Webhook,
    WebhookMessage,
    new_id,
    utcnow,
)

__all__ = [
    "API_KEY_PREFIX",
    "Conflict",
    "InvalidCursor",
    "append_event",
    "append_events",
    "create_api_key",
    "create_recipient",
    "create_tenant",
    "create_webhook",
    "deactivate_webhook",
    "delivery_counts",
    "find_by_idempotency_key",
    "get_delivery",
    "get_document",
    "get_evidence",
    "get_invoice",
    "get_owned",
    "get_recipient",
    "get_tenant",
    "get_tenant_by_name",
    "get_webhook",
    "insert_events",
    "invoice_counts_by_status",
    "list_api_keys",
    "list_events",
    "list_invoices",
    "list_recipients",
    "list_webhooks",
    "put_evidence",
    "recipient_secrets",
    "revoke_api_key",
    "update_recipient",
    "webhook_secret",
]

API_KEY_PREFIX = "gw_"
_KEY_BYTES = 32
_KEY_LENGTH = len(API_KEY_PREFIX) + 43  # 32 bytes → 43 base64url characters without padding
_LOOKUP_PREFIX = 12
MAX_PAGE = 500
_HOOKS = "gateway.active_webhooks"


class Conflict(Exception):
    """A name that must be unique is taken (→ 409)."""


class InvalidCursor(ValueError):
    """A pagination cursor this store did not issue (→ 422)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------- tenants and keys


def create_tenant(s: Session, name: str) -> tuple[Tenant, str]:
    """A new tenant and the plaintext of its first API key (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise ValueError("a tenant needs a name")
    if get_tenant_by_name(s, name) is not None:
        raise Conflict(f"a tenant named {name!r} exists")
    tenant = Tenant(id=new_id("ten"), name=name, created_at=utcnow())
    s.add(tenant)
    s.flush()
    return tenant, create_api_key(s, tenant.id, name="initial")


def get_tenant(s: Session, tenant_id: str) -> Tenant | None:
    return s.get(Tenant, tenant_id)


def get_tenant_by_name(s: Session, name: str) -> Tenant | None:
    return s.scalars(select(Tenant).where(Tenant.name == name)).one_or_none()


def create_api_key(s: Session, tenant_id: str, name: str | None = None) -> str:
    """A new key for the tenant; returns the token, of which only the hash is kept."""
    token = API_KEY_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(_KEY_BYTES)).rstrip(b"=").decode()
    s.add(
        ApiKey(
            id=new_id("key"),
            tenant_id=tenant_id,
            prefix=token[:_LOOKUP_PREFIX],
            sha256=_sha256(token.encode()),
            name=name,
            created_at=utcnow(),
        )
    )
    s.flush()
    return token


def tenant_for_api_key(s: Session, token: str) -> Tenant | None:
    """The tenant a (non-revoked) key belongs to, or ``None`` for anything else."""
    if len(token) != _KEY_LENGTH or not token.startswith(API_KEY_PREFIX):
        return None
    digest = _sha256(token.encode("utf-8", "replace"))
    rows = s.scalars(
        select(ApiKey).where(ApiKey.prefix == token[:_LOOKUP_PREFIX], ApiKey.revoked_at.is_(None))
    ).all()
    found: ApiKey | None = None
    for row in rows:  # compare every candidate: the time taken says nothing about which matched
        if hmac.compare_digest(row.sha256.encode(), digest.encode()):
            found = row
    return s.get(Tenant, found.tenant_id) if found is not None else None


class _TenantRow(Protocol):
    tenant_id: Any


_Owned = TypeVar("_Owned", bound=_TenantRow)


def get_owned(s: Session, model: type[_Owned], tenant_id: str, row_id: str) -> _Owned | None:
    """The row ``row_id`` of ``model`` if it belongs to ``tenant_id`` (else ``None``: another
    tenant's id is not found). Read by primary key and the tenant compared here: with
    "id = ? AND tenant_id = ?" PostgreSQL's estimates can tie the primary key with the
    tenant's own indexes (young tables, a tenant too new for the statistics), and it then
    walked every row of the tenant for one."""
    row = s.get(model, row_id)
    return row if row is not None and row.tenant_id == tenant_id else None


def list_api_keys(s: Session, tenant_id: str) -> list[ApiKey]:
    return list(s.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)))


def revoke_api_key(s: Session, tenant_id: str, key_id: str) -> ApiKey | None:
    key = get_owned(s, ApiKey, tenant_id, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = utcnow()
        s.flush()
    return key


# ---------------------------------------------------------------------------- recipients


def _secrets_aad(tenant_id: str, recipient_id: str, channel: str) -> bytes:
    return b"\x00".join(
        x.encode() for x in ("gateway.recipient-secrets.v1", tenant_id, recipient_id, channel)
    )


def _seal_secrets(
    box: SecretBox, tenant_id: str, recipient_id: str, values: dict[str, dict[str, str]]
) -> bytes | None:
    """``{"channel": base64(sealed JSON)}`` as JSON: one ciphertext per channel, each bound to it."""
    sealed = {
        channel: base64.b64encode(
            box.seal(
                json.dumps(found, sort_keys=True).encode(), _secrets_aad(tenant_id, recipient_id, channel)
            )
        ).decode("ascii")
        for channel, found in sorted(values.items())
        if found
    }
    return json.dumps(sealed, sort_keys=True).encode() if sealed else None


def recipient_secrets(recipient: Recipient, box: SecretBox) -> dict[str, dict[str, str]]:
    """The channels' secret values (channel name → {secret name: value}); for connectors only."""
    if not recipient.secrets:
        return {}
    sealed: dict[str, str] = json.loads(recipient.secrets)
    out: dict[str, dict[str, str]] = {}
    for channel, value in sealed.items():
        plain = box.open(base64.b64decode(value), _secrets_aad(recipient.tenant_id, recipient.id, channel))
        out[channel] = json.loads(plain)
    return out


def _channel_rows(
    channels: Sequence[Any], kept: dict[str, dict[str, str]] | None = None
) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """Channel JSON (settings + secret names only) and the secret values to seal, per channel."""
    rows: list[dict[str, Any]] = []
    values: dict[str, dict[str, str]] = {}
    for channel in channels:
        merged = {**(kept or {}).get(f"{channel.type}\x00{channel.name}", {}), **channel.secrets}
        check_required_secrets(channel.type, channel.name, set(merged))
        rows.append(
            {
                "type": channel.type,
                "name": channel.name,
                "settings": channel_settings(channel),
                "secret_names": sorted(merged),
            }
        )
        values[channel.name] = merged
    return rows, values


def _formats(data: RecipientIn | RecipientPatch) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json", exclude_none=True) for f in data.formats or []]


def _buyer(data: RecipientIn | RecipientPatch) -> dict[str, Any]:
    assert data.buyer is not None
    return data.buyer.model_dump(mode="json", exclude_none=True)


def _name_taken(s: Session, tenant_id: str, name: str, other_than: str | None = None) -> bool:
    query = select(Recipient.id).where(Recipient.tenant_id == tenant_id, Recipient.name == name)
    if other_than is not None:
        query = query.where(Recipient.id != other_than)
    return s.scalars(query).first() is not None


def create_recipient(s: Session, tenant_id: str, data: RecipientIn, box: SecretBox) -> Recipient:
    if _name_taken(s, tenant_id, data.name):
        raise Conflict(f"a recipient named {data.name!r} exists")
    recipient_id = new_id("rcp")
    channels, values = _channel_rows(data.channels)
    now = utcnow()
    recipient = Recipient(
        id=recipient_id,
        tenant_id=tenant_id,
        name=data.name,
        buyer=_buyer(data),
        formats=_formats(data),
        channels=channels,
        secrets=_seal_secrets(box, tenant_id, recipient_id, values),
        sign_key=data.sign_key,
        created_at=now,
        updated_at=now,
    )
    s.add(recipient)
    s.flush()
    return recipient


def update_recipient(
    s: Session, tenant_id: str, recipient_id: str, patch: RecipientPatch, box: SecretBox
) -> Recipient | None:
    """Apply a PATCH (see ``RecipientPatch``); ``None`` when the tenant has no such recipient."""
    recipient = get_recipient(s, tenant_id, recipient_id)
    if recipient is None:
        return None
    given = patch.model_fields_set
    if patch.name is not None and patch.name != recipient.name:
        if _name_taken(s, tenant_id, patch.name, other_than=recipient.id):
            raise Conflict(f"a recipient named {patch.name!r} exists")
        recipient.name = patch.name
    if patch.buyer is not None:
        recipient.buyer = _buyer(patch)
    if patch.formats is not None:
        recipient.formats = _formats(patch)
    if patch.channels is not None:
        old = recipient_secrets(recipient, box)
        kept = {f"{c['type']}\x00{c['name']}": old.get(c["name"], {}) for c in recipient.channels}
        channels, values = _channel_rows(patch.channels, kept)
        recipient.channels = channels
        recipient.secrets = _seal_secrets(box, tenant_id, recipient.id, values)
    if "sign_key" in given:
        recipient.sign_key = patch.sign_key
    recipient.updated_at = utcnow()
    s.flush()
    return recipient


def get_recipient(s: Session, tenant_id: str, recipient_id: str) -> Recipient | None:
    return get_owned(s, Recipient, tenant_id, recipient_id)


def list_recipients(s: Session, tenant_id: str) -> list[Recipient]:
    return list(s.scalars(select(Recipient).where(Recipient.tenant_id == tenant_id).order_by(Recipient.name)))


# ---------------------------------------------------------------------------- invoices


def get_invoice(s: Session, tenant_id: str, invoice_id: str) -> Invoice | None:
    return get_owned(s, Invoice, tenant_id, invoice_id)


def find_by_idempotency_key(s: Session, tenant_id: str, key: str) -> Invoice | None:
    # Through the key's own index, the tenant compared on the rows it finds (a few at most:
    # one per tenant using this key). With a plain "tenant_id = ? AND idempotency_key = ?"
    # PostgreSQL's estimates tie while the table is young (or for a tenant too new to be in
    # its statistics) and it may walk the tenant's index instead: every submission then read
    # all of the tenant's invoices, quadratic over a batch. The concatenation keeps the
    # tenant condition off the indexes.
    return s.scalars(
        select(Invoice).where(Invoice.idempotency_key == key, Invoice.tenant_id.concat("") == tenant_id)
    ).one_or_none()


def _encode_cursor(invoice: Invoice) -> str:
    raw = json.dumps([invoice.created_at.isoformat(), invoice.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, invoice_id = json.loads(raw)
        created = datetime.fromisoformat(stamp)
        if created.tzinfo is None or not isinstance(invoice_id, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidCursor("the cursor is not one this API returned; start again without it") from None
    return created, invoice_id


def _bound(value: date | datetime, *, end: bool) -> datetime:
    """A datetime as given (naive = UTC); a date means its whole day (``to`` includes it)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    start = datetime.combine(value, time(0), tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def list_invoices(
    s: Session,
    tenant_id: str,
    *,
    status: str | None = None,
    recipient: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Invoice], str | None]:
    """Newest first, keyset-paged on ``(created_at, id)``; the cursor is opaque to callers.

    ``date_from`` is inclusive; ``date_to`` is inclusive of a whole ``date`` and exclusive of
    a ``datetime`` (both on when the invoice was accepted). ``issued_from``/``issued_to``
    bound its issue date (BT-2), both inclusive; ``amount_min``/``amount_max`` its amount due
    (BT-115), in the invoice's own currency. ``next_cursor`` is ``None`` on the last page.
    """
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Invoice).where(Invoice.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Invoice.status == status)
    if recipient is not None:
        query = query.where(Invoice.recipient_id == recipient)
    if date_from is not None:
        query = query.where(Invoice.created_at >= _bound(date_from, end=False))
    if date_to is not None:
        query = query.where(Invoice.created_at < _bound(date_to, end=True))
    if issued_from is not None:
        query = query.where(Invoice.issue_date >= issued_from.isoformat())
    if issued_to is not None:
        query = query.where(Invoice.issue_date <= issued_to.isoformat())
    amount = sql_cast(Invoice.amount_due, Numeric(38, 10))  # stored as text, compared as a number
    if amount_min is not None:
        query = query.where(Invoice.amount_due.is_not(None), amount >= amount_min)
    if amount_max is not None:
        query = query.where(Invoice.amount_due.is_not(None), amount <= amount_max)
    if cursor is not None:
        created, last_id = _decode_cursor(cursor)
        query = query.where(
            or_(Invoice.created_at < created, and_(Invoice.created_at == created, Invoice.id < last_id))
        )
    rows = list(s.scalars(query.order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], _encode_cursor(rows[limit - 1])
    return rows, None


def get_document(s: Session, tenant_id: str, invoice_id: str, kind: str) -> Document | None:
    return s.scalars(
        select(Document).where(
            Document.tenant_id == tenant_id, Document.invoice_id == invoice_id, Document.kind == kind
        )
    ).one_or_none()


def get_delivery(s: Session, tenant_id: str, delivery_id: str) -> Delivery | None:
    return get_owned(s, Delivery, tenant_id, delivery_id)


# ---------------------------------------------------------------------------- events


def invoice_documents(s: Session, tenant_id: str, invoice_id: str) -> list[Document]:
    """The invoice's documents by kind, their bytes not loaded (``content`` is deferred)."""
    return list(
        s.scalars(
            select(Document)
            .options(defer(Document.content))
            .where(Document.tenant_id == tenant_id, Document.invoice_id == invoice_id)
            .order_by(Document.kind)
        )
    )


def invoice_deliveries(s: Session, tenant_id: str, invoice_id: str) -> list[Delivery]:
    return list(
        s.scalars(
            select(Delivery)
            .where(Delivery.tenant_id == tenant_id, Delivery.invoice_id == invoice_id)
            .order_by(Delivery.created_at, Delivery.id)
        )
    )


def list_events(s: Session, tenant_id: str, invoice_id: str) -> list[Event]:
    return list(
        s.scalars(
            select(Event)
            .where(Event.tenant_id == tenant_id, Event.invoice_id == invoice_id)
            .order_by(Event.id)
        )
    )


_STATUSES = {"transport": frozenset(TransportStatus), "business": frozenset(BusinessStatus)}


def _event_payload(event: Event) -> dict[str, Any]:
    kind = "delivery.status_changed" if event.delivery_id is not None else "invoice.status_changed"
    return {
        "type": kind,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "event_id": event.id,
            "invoice_id": event.invoice_id,
            "delivery_id": event.delivery_id,
            "axis": event.axis,
            "status": event.status,
            "previous": event.previous,
            "final": event.final,
            "source": event.source,
            "raw_code": event.raw_code,
            "reason": event.reason,
            "attempt": event.attempt,
            "evidence_sha256": event.evidence_sha256,
        },
    }


_WEBHOOKS = cast(Table, Webhook.__table__)
# built once, a Core statement (the ORM's per-statement work was most of this lookup's cost)
_ACTIVE_HOOKS = select(_WEBHOOKS.c.id).where(
    _WEBHOOKS.c.tenant_id == bindparam("tenant_id"), _WEBHOOKS.c.active.is_(True)
)


def _active_webhooks(s: Session, tenant_id: str) -> list[str]:
    """The tenant's active webhook ids, looked up once per transaction (several events share it).

    Kept in ``s.info`` for the session's current transaction only: the next transaction looks
    again, and ``create_webhook`` / ``deactivate_webhook`` forget it at once.
    """
    key = (_HOOKS, tenant_id)
    transaction = s.get_transaction()
    cached = s.info.get(key)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return list(cached[1])
    hooks = list(s.scalars(_ACTIVE_HOOKS, {"tenant_id": tenant_id}).all())
    s.info[key] = (s.get_transaction(), hooks)
    return list(hooks)


def _forget_webhooks(s: Session, tenant_id: str) -> None:
    s.info.pop((_HOOKS, tenant_id), None)


def _new_event(
    *,
    tenant_id: str,
    invoice_id: str,
    delivery_id: str | None,
    axis: str,
    status: str,
    previous: str | None,
    source: str,
    raw_code: str | None = None,
    reason: str | None = None,
    evidence_sha256: str | None = None,
    final: bool = False,
    attempt: int | None = None,
) -> Event:
    return Event(
        **_event_values(
            tenant_id=tenant_id,
            invoice_id=invoice_id,
            delivery_id=delivery_id,
            axis=axis,
            status=status,
            previous=previous,
            source=source,
            raw_code=raw_code,
            reason=reason,
            evidence_sha256=evidence_sha256,
            final=final,
            attempt=attempt,
        )
    )


def _event_values(
    *,
    tenant_id: str,
    invoice_id: str,
    delivery_id: str | None,
    axis: str,
    status: str,
    previous: str | None,
    source: str,
    raw_code: str | None = None,
    reason: str | None = None,
    evidence_sha256: str | None = None,
    final: bool = False,
    attempt: int | None = None,
) -> dict[str, Any]:
    """An event's column values, checked (every key always present: one executemany takes them)."""
    if axis not in _STATUSES:
        raise ValueError(f"unknown axis {axis!r}: 'transport' or 'business'")
    if status not in _STATUSES[axis]:
        raise ValueError(f"{status!r} is not a {axis} status")
    return {
        "tenant_id": tenant_id,
        "invoice_id": invoice_id,
        "delivery_id": delivery_id,
        "axis": axis,
        "status": status,
        "previous": previous,
        "source": source,
        "raw_code": raw_code,
        "reason": reason,
        "evidence_sha256": evidence_sha256,
        "final": final,
        "attempt": attempt,
        "created_at": utcnow(),
    }


def _outbox(s: Session, events: Sequence[Event]) -> None:
    """One ``WebhookMessage`` per (active webhook, event); the events have their ids (flushed)."""
    by_tenant: dict[str, list[str]] = {}
    messages = []
    for event in events:
        if event.tenant_id not in by_tenant:
            by_tenant[event.tenant_id] = _active_webhooks(s, event.tenant_id)
        hooks = by_tenant[event.tenant_id]
        if not hooks:
            continue
        payload = _event_payload(event)
        messages += [
            WebhookMessage(
                id=new_id("msg"),
                tenant_id=event.tenant_id,
                webhook_id=hook,
                event_id=event.id,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=event.created_at,
                created_at=event.created_at,
            )
            for hook in hooks
        ]
    if messages:
        s.add_all(messages)
        s.flush()


def append_event(
    s: Session,
    *,
    tenant_id: str,
    invoice_id: str,
    delivery_id: str | None,
    axis: str,
    status: str,
    previous: str | None,
    source: str,
    raw_code: str | None = None,
    reason: str | None = None,
    evidence_sha256: str | None = None,
    final: bool = False,
    attempt: int | None = None,
) -> Event:
    """Insert one event and its webhook outbox rows (same transaction; never an update)."""
    event = _new_event(
        tenant_id=tenant_id,
        invoice_id=invoice_id,
        delivery_id=delivery_id,
        axis=axis,
        status=status,
        previous=previous,
        source=source,
        raw_code=raw_code,
        reason=reason,
        evidence_sha256=evidence_sha256,
        final=final,
        attempt=attempt,
    )
    s.add(event)
    s.flush()  # the id goes into the payload and the outbox rows
    _outbox(s, [event])
    return event


def append_events(s: Session, events: Sequence[Mapping[str, Any]]) -> list[Event]:
    """``append_event`` for several events (each a mapping of its keyword arguments) at once.

    All are checked before any is added. Without an active webhook nothing is flushed: the
    events go in with the caller's next flush (one batch with whatever else it writes) and
    get their ids then; with webhooks they are flushed here, for the outbox rows' payloads.
    """
    rows = [_new_event(**dict(e)) for e in events]
    s.add_all(rows)
    if rows and any(_active_webhooks(s, t) for t in {row.tenant_id for row in rows}):
        s.flush()
        _outbox(s, rows)
    return rows


def insert_events(s: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """``append_events`` for the hot paths, which need no ``Event`` objects back.

    Without an active webhook the events go in with one Core executemany (no unit of work:
    the rows exist when it returns). With webhooks the outbox rows need the events' ids, so
    they take ``append_events``' path (flushed one batch, then the outbox).
    """
    if not events:
        return
    rows = [_event_values(**dict(e)) for e in events]  # all checked before any is written
    if any(_active_webhooks(s, t) for t in {row["tenant_id"] for row in rows}):
        append_events(s, events)
        return
    s.execute(insert(cast(Table, Event.__table__)), rows)


def put_evidence(s: Session, tenant_id: str, content: bytes, media_type: str) -> str:
    """Keep evidence bytes once per tenant and content; returns their SHA-256 (idempotent)."""
    digest = _sha256(content)
    values = {
        "tenant_id": tenant_id,
        "sha256": digest,
        "media_type": media_type,
        "content": content,
        "created_at": utcnow(),
    }
    # ON CONFLICT DO NOTHING: two workers storing the same evidence at once both succeed
    s.execute(_EVIDENCE_INSERTS[s.get_bind().dialect.name == "postgresql"], values)
    return digest


# built once per dialect (each delivery attempt stores up to three pieces of evidence)
_EVIDENCE_INSERTS = {
    postgresql: (pg_insert if postgresql else sqlite_insert)(
        cast(Table, Evidence.__table__)
    ).on_conflict_do_nothing()
    for postgresql in (False, True)
}


def get_evidence(s: Session, tenant_id: str, sha256: str) -> Evidence | None:
    return s.get(Evidence, (tenant_id, sha256))


# ---------------------------------------------------------------------------- webhooks


def _webhook_aad(tenant_id: str, webhook_id: str) -> bytes:
    return b"\x00".join(x.encode() for x in ("gateway.webhook-secret.v1", tenant_id, webhook_id))


def create_webhook(s: Session, tenant_id: str, url: str, box: SecretBox) -> tuple[Webhook, str]:
    """A new endpoint and its Standard Webhooks signing secret (``whsec_`` + base64, shown once)."""
    check_url(url, allow_loopback_http=True)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    webhook_id = new_id("whk")
    webhook = Webhook(
        id=webhook_id,
        tenant_id=tenant_id,
        url=url,
        secret=box.seal(secret.encode(), _webhook_aad(tenant_id, webhook_id)),
        active=True,
        created_at=utcnow(),
    )
    s.add(webhook)
    s.flush()
    _forget_webhooks(s, tenant_id)
    return webhook, secret


def webhook_secret(webhook: Webhook, box: SecretBox) -> str:
    """The plaintext signing secret (for the sender only)."""
    return box.open(webhook.secret, _webhook_aad(webhook.tenant_id, webhook.id)).decode()


def get_webhook(s: Session, tenant_id: str, webhook_id: str) -> Webhook | None:
    return get_owned(s, Webhook, tenant_id, webhook_id)


def list_webhooks(s: Session, tenant_id: str) -> list[Webhook]:
    return list(s.scalars(select(Webhook).where(Webhook.tenant_id == tenant_id).order_by(Webhook.created_at)))


def deactivate_webhook(s: Session, tenant_id: str, webhook_id: str) -> Webhook | None:
    """Stops new notifications to the endpoint (rows already in the outbox stay)."""
    webhook = get_webhook(s, tenant_id, webhook_id)
    if webhook is not None:
        webhook.active = False
        s.flush()
        _forget_webhooks(s, tenant_id)
    return webhook


# ---------------------------------------------------------------------------- metrics


def invoice_counts_by_status(s: Session) -> dict[str, int]:
    """All tenants: the gauge of invoices per status (operators' view, not a tenant's)."""
    rows = s.execute(select(Invoice.status, func.count()).group_by(Invoice.status)).all()
    return {str(status): int(count) for status, count in rows}


def delivery_counts(s: Session) -> dict[tuple[str, str], int]:
    rows = s.execute(
        select(Delivery.channel_type, Delivery.status, func.count()).group_by(
            Delivery.channel_type, Delivery.status
        )
    ).all()
    return {(channel, status): count for channel, status, count in rows}
