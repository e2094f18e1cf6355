"""What one delivery attempt does: the one code path for the in-process runner and the job queue.

``run_delivery`` is called with a delivery id, by ``gateway.runner`` (SQLite, ``gateway
serve``) or by a procrastinate task (PostgreSQL, ``gateway worker``). It never holds a
transaction open while talking to the other side:

1. **Claim** (transaction 1): ``queued``/``retrying`` → ``sending``, ``attempts`` + 1, with
   the delivery's optimistic lock. Two workers claiming the same delivery: one update
   matches the version, the other's does not (``StaleDataError``) and it walks away. The
   documents and the channel's secrets are read here, then the claim commits.
2. **Send**, outside any transaction, through the channel's connector.
3. **Record** (transaction 2): ``delivered`` (the remote reference, the evidence), ``retrying``
   (a transient error: exponential backoff with full jitter, ``next_attempt_at``), or
   ``failed`` (a permanent error, or the attempts are used up), each with an event carrying
   the raw code, the reason and the SHA-256 of the evidence; and the invoice's summary
   status, in the same transaction.

A crash between 1 and 3 leaves the delivery ``sending``; the runner (or the job queue's
stalled-job recovery) puts it back to ``queued`` and the connector's deterministic names
and payload ids make the repeated send recognisable. A canceled delivery is never claimed.
"""

from __future__ import annotations

import json
import logging
import random
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from connectors.base import (
    Connector,
    DeliveryError,
    DeliveryResult,
    OutgoingDocument,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from gateway.lifecycle import TransportStatus, check_transport
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.models import Delivery, Document, Invoice, Recipient, utcnow

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "CLAIMABLE",
    "backoff_delay",
    "invoice_summary",
    "run_delivery",
    "update_invoice_status",
]

log = logging.getLogger(__name__)

T = TransportStatus
BACKOFF_BASE = 2.0  # seconds before the first retry, at most
BACKOFF_CAP = 3600.0  # never wait more than an hour between attempts
CLAIMABLE = frozenset({T.QUEUED.value, T.RETRYING.value})
MAX_REFERENCE = 500  # Delivery.remote_reference's column size; the evidence keeps the whole list
_CLAIM_TRIES = 5

# How far each status has come, for the invoice's summary: the least advanced delivery wins.
_PROGRESS = [T.ACCEPTED, T.VALIDATING, T.READY, T.QUEUED, T.RETRYING, T.SENDING, T.DELIVERED, T.ACKNOWLEDGED]
_ATTENTION = (T.FAILED, T.REJECTED_TECHNICAL)  # shown first: someone must act


def backoff_delay(
    attempt: int,
    *,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
    rng: Callable[[float, float], float] = random.uniform,
) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^(attempt-1))].

    Spreads the retries of many deliveries that failed together (a receiver down for a
    minute) instead of sending them all back at the same instant.
    """
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return rng(0.0, ceiling)


def invoice_summary(statuses: Iterable[str]) -> str | None:
    """One status for an invoice with several deliveries.

    A delivery that needs an operator (``failed``, ``rejected_technical``) shows first;
    canceled deliveries do not count unless all are canceled; otherwise the least advanced
    delivery says how far the invoice has come.
    """
    present = [T(s) for s in statuses]
    if not present:
        return None
    for status in _ATTENTION:
        if status in present:
            return status.value
    active = [s for s in present if s is not T.CANCELED]
    if not active:
        return T.CANCELED.value
    if T.INVALID in active:
        return T.INVALID.value
    return min(active, key=_PROGRESS.index).value


def update_invoice_status(s: Session, invoice_id: str) -> None:
    invoice = s.get(Invoice, invoice_id)
    statuses = s.scalars(select(Delivery.status).where(Delivery.invoice_id == invoice_id)).all()
    summary = invoice_summary(statuses)
    if invoice is not None and summary is not None and invoice.status != summary:
        invoice.status = summary
        invoice.updated_at = utcnow()


@dataclass
class _Claim:
    delivery_id: str
    tenant_id: str
    invoice_id: str
    channel_type: str
    attempt: int
    max_attempts: int
    version: int
    payload_id: str
    settings: dict[str, Any]
    documents: list[OutgoingDocument]
    secrets: dict[str, str]
    problem: str | None = None  # a reason to fail at once without sending (no secrets, …)


def _sqlite_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "locked" in text or "busy" in text


def run_delivery(
    store: Store,
    delivery_id: str,
    *,
    connectors: Mapping[str, Connector],
    box: SecretBox,
    now: Callable[[], datetime] = utcnow,
    rng: Callable[[float, float], float] = random.uniform,
) -> str:
    """One attempt at ``delivery_id``; returns its status afterwards (see the module docstring).

    A delivery someone else is sending, or one that is not due, delivered or canceled, is
    left alone and its current status returned.
    """
    claim: _Claim | str | None = None
    for attempt in range(_CLAIM_TRIES):
        try:
            claim = _claim(store, delivery_id, box, now)
            break
        except StaleDataError:
            log.info("delivery %s: claimed by another worker", delivery_id)
            return T.SENDING.value
        except OperationalError as exc:
            # SQLite: a write after a read whose snapshot another writer changed is refused
            # (SQLITE_BUSY_SNAPSHOT); read again, and the other worker's claim shows.
            if not _sqlite_busy(exc) or attempt == _CLAIM_TRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    if not isinstance(claim, _Claim):
        return claim or "missing"

    result: DeliveryResult | None = None
    error: DeliveryError | None = None
    started = time.perf_counter()
    if claim.problem is not None:
        error = PermanentDeliveryError(claim.problem, raw_code="CONFIG")
    else:
        connector = connectors.get(claim.channel_type)
        if connector is None:
            error = PermanentDeliveryError(
                f"no connector for channel type {claim.channel_type!r}", raw_code="CONFIG"
            )
        else:
            try:
                result = connector.send(
                    claim.documents, claim.settings, claim.secrets, delivery_id=claim.delivery_id
                )
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # a connector bug must not lose the delivery: retry it
                # the message and the frames' locals may hold secrets: name the type and place only
                where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
                log.error(
                    "delivery %s: connector %s raised %s at %s",
                    claim.delivery_id,
                    claim.channel_type,
                    type(exc).__name__,
                    f"{where.filename}:{where.lineno}" if where else "?",
                )
                error = TransientDeliveryError(
                    f"unexpected {type(exc).__name__} in the {claim.channel_type} connector",
                    raw_code="EXCEPTION",
                )
    outcome = _record(store, claim, result, error, now, rng)
    from gateway.logging import get_logger
    from gateway.metrics import record_delivery

    seconds = time.perf_counter() - started
    record_delivery(claim.channel_type, outcome, seconds)
    get_logger("gateway.delivery").info(
        "delivery.attempted",
        invoice_id=claim.invoice_id,
        delivery_id=claim.delivery_id,
        tenant_id=claim.tenant_id,
        channel=claim.channel_type,
        attempt=claim.attempt,
        status=outcome,
        raw_code=error.raw_code if error is not None else (result.raw_code if result else None),
        seconds=round(seconds, 3),
    )
    return outcome


def _claim(
    store: Store, delivery_id: str, box: SecretBox, now: Callable[[], datetime]
) -> _Claim | str | None:
    with store.session() as s:
        d = s.get(Delivery, delivery_id)
        if d is None:
            return None
        if d.status not in CLAIMABLE:
            return d.status
        moment = now()
        if d.status == T.RETRYING.value and d.next_attempt_at is not None and d.next_attempt_at > moment:
            return d.status  # not due yet
        check_transport(d.status, T.SENDING)
        previous = d.status
        d.status = T.SENDING.value
        d.attempts += 1
        d.updated_at = moment
        # The update, the event and the invoice's status go in with one flush (the next query's
        # autoflush); the optimistic lock raises StaleDataError there if another worker won.
        repository.append_events(
            s,
            [
                {
                    "tenant_id": d.tenant_id,
                    "invoice_id": d.invoice_id,
                    "delivery_id": d.id,
                    "axis": "transport",
                    "status": T.SENDING.value,
                    "previous": previous,
                    "source": "worker",
                    "attempt": d.attempts,
                }
            ],
        )
        update_invoice_status(s, d.invoice_id)
        documents = _documents(s, d)
        secrets, problem = _secrets(s, d, box)
        values = _invoice_values(s, d)
        if not documents and problem is None:
            problem = "the delivery has none of its documents stored"
        return _Claim(
            delivery_id=d.id,
            tenant_id=d.tenant_id,
            invoice_id=d.invoice_id,
            channel_type=d.channel_type,
            attempt=d.attempts,
            max_attempts=d.max_attempts,
            version=d.version,
            payload_id=d.payload_id,
            # what the invoice says, for remote path templates (SFTP) and message texts (email);
            # the channel's own settings win where both name a key
            settings={**values, **d.settings, "payload_id": d.payload_id},
            documents=documents,
            secrets=secrets,
            problem=problem,
        )


def _invoice_values(s: Session, d: Delivery) -> dict[str, Any]:
    """Invoice number and id, recipient name, amount due, currency, issue date (no secrets)."""
    invoice = s.get(Invoice, d.invoice_id)
    if invoice is None:
        return {}
    recipient = s.get(Recipient, invoice.recipient_id) if invoice.recipient_id else None
    values: dict[str, Any] = {
        "invoice_number": invoice.number,
        "invoice_id": invoice.id,
        "recipient": recipient.name if recipient is not None else None,
        "amount_due": invoice.amount_due,
        "currency": invoice.currency,
        "issue_date": invoice.issue_date,
        "buyer_name": invoice.buyer_name,
    }
    return {key: value for key, value in values.items() if value is not None}


def _documents(s: Session, d: Delivery) -> list[OutgoingDocument]:
    kinds = list(d.document_kinds or [])
    rows = s.scalars(
        select(Document).where(
            Document.invoice_id == d.invoice_id, Document.tenant_id == d.tenant_id, Document.kind.in_(kinds)
        )
    ).all()
    by_kind = {row.kind: row for row in rows}
    return [
        OutgoingDocument(by_kind[k].filename, by_kind[k].content, by_kind[k].media_type, k)
        for k in kinds
        if k in by_kind
    ]


def _secrets(s: Session, d: Delivery, box: SecretBox) -> tuple[dict[str, str], str | None]:
    invoice = s.get(Invoice, d.invoice_id)
    if invoice is None or invoice.recipient_id is None:
        return {}, None
    recipient = s.get(Recipient, invoice.recipient_id)
    if recipient is None or recipient.tenant_id != d.tenant_id:
        return {}, None
    try:
        every = repository.recipient_secrets(recipient, box)
    except Exception as exc:  # never log the value: only what kind of failure it was
        return {}, f"the channel's secrets cannot be opened ({type(exc).__name__}); check GATEWAY_MASTER_KEY"
    return {str(k): str(v) for k, v in (every.get(d.channel_name) or {}).items()}, None


def _evidence(
    s: Session,
    claim: _Claim,
    outcome: str,
    raw_code: str | None,
    reason: str | None,
    sent: bytes,
    received: bytes,
    reference: str | None,
) -> str:
    """The attempt's evidence: what was sent and what came back, and a manifest tying them together."""
    record: dict[str, Any] = {
        "delivery_id": claim.delivery_id,
        "payload_id": claim.payload_id,
        "attempt": claim.attempt,
        "outcome": outcome,
        "raw_code": raw_code,
        "reason": reason,
        "remote_reference": reference,
        "documents": [
            {
                "kind": doc.kind,
                "filename": doc.filename,
                "sha256": _sha(doc.content),
                "size": len(doc.content),
            }
            for doc in claim.documents
        ],
    }
    if sent:
        record["sent_sha256"] = repository.put_evidence(s, claim.tenant_id, sent, "application/octet-stream")
    if received:
        record["received_sha256"] = repository.put_evidence(
            s, claim.tenant_id, received, "application/octet-stream"
        )
    manifest = json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return repository.put_evidence(s, claim.tenant_id, manifest, "application/json")


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _record(
    store: Store,
    claim: _Claim,
    result: DeliveryResult | None,
    error: DeliveryError | None,
    now: Callable[[], datetime],
    rng: Callable[[float, float], float],
) -> str:
    with store.session() as s:
        d = s.get(Delivery, claim.delivery_id)
        if d is None:
            return "missing"
        if d.status != T.SENDING.value or d.version != claim.version:
            # A stalled-attempt recovery took it over meanwhile; its new attempt decides.
            log.warning(
                "delivery %s: attempt %d finished after it was taken over", claim.delivery_id, claim.attempt
            )
            return d.status
        moment = now()
        raw_code: str | None
        reason: str | None
        if result is not None:
            status, raw_code, reason = T.DELIVERED, result.raw_code or result.status, None
            reference = result.remote_reference
            evidence = _evidence(
                s, claim, status.value, raw_code, reason, result.sent, result.received, reference
            )
            d.remote_reference = reference[:MAX_REFERENCE] if reference else None
            d.last_error = None
            d.next_attempt_at = None
        else:
            assert error is not None
            permanent = isinstance(error, PermanentDeliveryError)
            exhausted = claim.attempt >= d.max_attempts
            reason = str(error)
            raw_code = error.raw_code
            if permanent or exhausted:
                status = T.FAILED
                if exhausted and not permanent:
                    reason = f"{reason} (gave up after {claim.attempt} attempts)"
                d.next_attempt_at = None
            else:
                status = T.RETRYING
                d.next_attempt_at = moment + timedelta(seconds=backoff_delay(claim.attempt, rng=rng))
            reference = None
            evidence = _evidence(s, claim, status.value, raw_code, reason, error.sent, error.received, None)
            d.last_error = reason
        check_transport(d.status, status)
        d.status = status.value
        d.updated_at = moment
        repository.append_events(
            s,
            [
                {
                    "tenant_id": d.tenant_id,
                    "invoice_id": d.invoice_id,
                    "delivery_id": d.id,
                    "axis": "transport",
                    "status": status.value,
                    "previous": T.SENDING.value,
                    "source": f"channel:{d.channel_type}",
                    "raw_code": (raw_code or None) and str(raw_code)[:100],
                    "reason": reason,
                    "evidence_sha256": evidence,
                    "final": status is T.FAILED,
                    "attempt": claim.attempt,
                }
            ],
        )
        update_invoice_status(s, d.invoice_id)
        return status.value
