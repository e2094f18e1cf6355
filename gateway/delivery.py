"""What one delivery attempt does: the one code path for the in-process runner and the job queue.

``run_delivery`` is called with a delivery id, by ``gateway.runner`` (SQLite, ``gateway
serve``) or by a procrastinate task (PostgreSQL, ``gateway worker``). It never holds a
transaction open while talking to the other side:

1. **Claim** (transaction 1): ``queued``/``retrying`` → ``sending``, ``attempts`` + 1,
   ``version`` + 1, by one guarded UPDATE (it matches only a claimable, due delivery): two
   workers claiming the same delivery, one matches and the other finds it ``sending`` and
   walks away. The documents and the channel's secrets are read here, then the claim commits.
2. **Send**, outside any transaction, through the channel's connector.
3. **Record** (transaction 2): ``delivered`` (the remote reference, the evidence), ``retrying``
   (a transient error: exponential backoff with full jitter, ``next_attempt_at``), or
   ``failed`` (a permanent error, or the attempts are used up), each with an event carrying
   the raw code, the reason and the SHA-256 of the evidence; and the invoice's summary
   status, in the same transaction.

A crash between 1 and 3 leaves the delivery ``sending``; the runner (or the job queue's
stalled-job recovery) puts it back to ``queued`` and the connector's deterministic names
and payload ids make the repeated send recognisable. A canceled delivery is never claimed.

**Per-server limits** (``gateway.limits``). Before the claim, the delivery's channel type and
settings are read and a slot of its server's limit is taken (e.g. at most 4 SFTP attempts at
once to one host and port, across every worker). When none is free the attempt does not
start: the row is left untouched and ``run_delivery`` returns ``"throttled"`` (not a status
of the lifecycle: the delivery is still ``queued``/``retrying`` and due), and the caller tries
again shortly (``gateway.limits.throttle_delay``). The slot is given back after step 3.
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
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, or_, select, update
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
from gateway.limits import Limiter, Slot, limit_for, limiter_for
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.models import Delivery, Document, Invoice, Recipient, utcnow

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "CLAIMABLE",
    "THROTTLED",
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
THROTTLED = "throttled"
"""``run_delivery``'s answer when the server's limit is reached: nothing was done, try again soon."""

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
    limiter: Limiter | None = None,
) -> str:
    """One attempt at ``delivery_id``; returns its status afterwards (see the module docstring).

    A delivery someone else is sending, or one that is not due, delivered or canceled, is
    left alone and its current status returned. A delivery whose server has no free slot is
    left alone too, and ``THROTTLED`` returned. ``limiter`` defaults to the store's
    (``gateway.limits.limiter_for``).
    """
    limited, slot = _slot(store, delivery_id, now, limiter)
    if limited and slot is None:
        return THROTTLED
    try:
        return _attempt(store, delivery_id, connectors, box, now, rng)
    finally:
        if slot is not None:
            slot.release()  # after the outcome is recorded: the next attempt may start now


def _slot(
    store: Store, delivery_id: str, now: Callable[[], datetime], limiter: Limiter | None
) -> tuple[bool, Slot | None]:
    """``(limited, slot)``: whether the attempt needs a slot of its server's limit, and the slot
    it got (``None``: the server is full). Not limited: no limit for the channel, or the
    delivery is not claimable now (missing, not due, taken: the claim finds out and says so)."""
    with store.session() as s:
        row = s.execute(_LIMIT_OF, {"delivery_id": delivery_id}).one_or_none()
    if row is None or row.status not in CLAIMABLE:
        return False, None
    if row.status == T.RETRYING.value and row.next_attempt_at is not None and row.next_attempt_at > now():
        return False, None
    limit = limit_for(row.channel_type, row.settings)
    if limit is None:
        return False, None
    slot = (limiter or limiter_for(store)).try_acquire(limit)
    if slot is None:
        from gateway.metrics import record_throttled

        record_throttled(row.channel_type)
        log.debug("delivery %s: %s is at its limit of %d", delivery_id, limit.key, limit.capacity)
    return True, slot


def _attempt(
    store: Store,
    delivery_id: str,
    connectors: Mapping[str, Connector],
    box: SecretBox,
    now: Callable[[], datetime],
    rng: Callable[[float, float], float],
) -> str:
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
    outcome = _record_when_possible(store, claim, result, error, now, rng)
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


_DELIVERIES = cast(Table, Delivery.__table__)
_INVOICES = cast(Table, Invoice.__table__)
_RECIPIENTS = cast(Table, Recipient.__table__)
_DOCUMENTS = cast(Table, Document.__table__)
_CLAIMED = (
    _DELIVERIES.c.tenant_id,
    _DELIVERIES.c.invoice_id,
    _DELIVERIES.c.channel_type,
    _DELIVERIES.c.channel_name,
    _DELIVERIES.c.settings,
    _DELIVERIES.c.document_kinds,
    _DELIVERIES.c.attempts,
    _DELIVERIES.c.max_attempts,
    _DELIVERIES.c.version,
    _DELIVERIES.c.payload_id,
)


_D, _I, _R, _DOC = _DELIVERIES.c, _INVOICES.c, _RECIPIENTS.c, _DOCUMENTS.c
_MOMENT = bindparam("moment", type_=_D.updated_at.type)
_LIMIT_OF = select(_D.status, _D.next_attempt_at, _D.channel_type, _D.settings).where(
    _D.id == bindparam("delivery_id")
)
# The hot path's statements, built once (building them was a good part of their cost).
_STATUS_OF = select(_D.status).where(_D.id == bindparam("delivery_id"))
_STATUSES_OF_INVOICE = select(_D.status).where(_D.invoice_id == bindparam("invoice_id"))
_SET_INVOICE_STATUS = (
    update(_INVOICES)
    .where(_I.id == bindparam("invoice_id"), _I.status != bindparam("summary"))
    .values(status=bindparam("summary"), updated_at=_MOMENT)
)


def _claim_statement(status: TransportStatus) -> Any:
    guard = [_D.id == bindparam("delivery_id"), _D.status == status.value]
    if status is T.RETRYING:  # due: a queued delivery is claimed whatever its next_attempt_at
        guard.append(or_(_D.next_attempt_at.is_(None), _D.next_attempt_at <= _MOMENT))
    return (
        update(_DELIVERIES)
        .where(*guard)
        .values(
            status=T.SENDING.value,
            attempts=_D.attempts + 1,
            version=_D.version + 1,
            updated_at=_MOMENT,
        )
        .returning(*_CLAIMED)
    )


_CLAIMS = tuple((status, _claim_statement(status)) for status in (T.QUEUED, T.RETRYING))
# By invoice only: the claimed delivery already is the tenant's, and with a tenant condition
# PostgreSQL's generic plan for this prepared statement (chosen while the tables were young
# and unanalysed) walked the tenant index: every delivery read all of the tenant's
# documents, which made a 10,000-invoice run quadratic.
_DOCUMENTS_OF = select(_DOC.kind, _DOC.filename, _DOC.content, _DOC.media_type).where(
    _DOC.invoice_id == bindparam("invoice_id"),
    _DOC.kind.in_(bindparam("kinds", expanding=True)),
)
_INVOICE_AND_RECIPIENT = (
    select(
        _I.id,
        _I.number,
        _I.amount_due,
        _I.currency,
        _I.issue_date,
        _I.buyer_name,
        _I.recipient_id,
        _R.id.label("rcp_id"),
        _R.name.label("rcp_name"),
        _R.tenant_id.label("rcp_tenant"),
        _R.secrets.label("rcp_secrets"),
    )
    .select_from(_INVOICES.outerjoin(_RECIPIENTS, _R.id == _I.recipient_id))
    .where(_I.id == bindparam("invoice_id"))
)


def _record_statement(*columns: str) -> Any:
    """Guarded like the claim: still ``sending`` at the version the claim left."""
    return (
        update(_DELIVERIES)
        .where(
            _D.id == bindparam("delivery_id"),
            _D.status == T.SENDING.value,
            _D.version == bindparam("claimed_version"),
        )
        .values(
            status=bindparam("new_status"),
            updated_at=_MOMENT,
            version=_D.version + 1,
            **{name: bindparam(f"new_{name}", type_=_D[name].type) for name in columns},
        )
    )


_RECORD_DELIVERED = _record_statement("remote_reference", "last_error", "next_attempt_at")
_RECORD_NOT_DELIVERED = _record_statement("last_error", "next_attempt_at")


def _refresh_invoice_status(s: Session, invoice_id: str) -> None:
    """``update_invoice_status`` in Core: the summary written only when it changes."""
    statuses = s.scalars(_STATUSES_OF_INVOICE, {"invoice_id": invoice_id}).all()
    summary = invoice_summary(statuses)
    if summary is not None:
        s.execute(_SET_INVOICE_STATUS, {"invoice_id": invoice_id, "summary": summary, "moment": utcnow()})


def _claim(
    store: Store, delivery_id: str, box: SecretBox, now: Callable[[], datetime]
) -> _Claim | str | None:
    with store.session() as s:
        moment = now()
        # One guarded UPDATE is the claim (Core, no unit of work): it matches only while the
        # delivery is queued, or retrying and due; of two workers, one matches and the other
        # finds it ``sending``. ``version`` goes up as the ORM's optimistic lock expects.
        # Queued (the usual case) is tried first: the status it had is the one that matched.
        row = None
        previous: TransportStatus | None = None
        for claimable, statement in _CLAIMS:
            row = s.execute(statement, {"delivery_id": delivery_id, "moment": moment}).one_or_none()
            if row is not None:
                previous = claimable
                break
        if row is None or previous is None:
            # missing, not claimable, not due yet, or another worker's claim won
            status: str | None = s.scalar(_STATUS_OF, {"delivery_id": delivery_id})
            if status == T.SENDING.value:
                log.info("delivery %s: claimed by another worker", delivery_id)
            return status
        check_transport(previous.value, T.SENDING)
        repository.insert_events(
            s,
            [
                {
                    "tenant_id": row.tenant_id,
                    "invoice_id": row.invoice_id,
                    "delivery_id": delivery_id,
                    "axis": "transport",
                    "status": T.SENDING.value,
                    "previous": previous.value,
                    "source": "worker",
                    "attempt": row.attempts,
                }
            ],
        )
        _refresh_invoice_status(s, row.invoice_id)
        documents = _documents(s, row.tenant_id, row.invoice_id, list(row.document_kinds or []))
        values, secrets, problem = _invoice_and_secrets(
            s, row.tenant_id, row.invoice_id, row.channel_name, box
        )
        if not documents and problem is None:
            problem = "the delivery has none of its documents stored"
        return _Claim(
            delivery_id=delivery_id,
            tenant_id=row.tenant_id,
            invoice_id=row.invoice_id,
            channel_type=row.channel_type,
            attempt=row.attempts,
            max_attempts=row.max_attempts,
            version=row.version,
            payload_id=row.payload_id,
            # what the invoice says, for remote path templates (SFTP) and message texts (email);
            # the channel's own settings win where both name a key
            settings={**values, **(row.settings or {}), "payload_id": row.payload_id},
            documents=documents,
            secrets=secrets,
            problem=problem,
        )


def _invoice_and_secrets(
    s: Session, tenant_id: str, invoice_id: str, channel_name: str, box: SecretBox
) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """The invoice's values for templates (number and id, recipient name, amount due, currency,
    issue date, buyer; no secrets) and the channel's secrets, read with one query."""
    found = s.execute(_INVOICE_AND_RECIPIENT, {"invoice_id": invoice_id}).one_or_none()
    if found is None:
        return {}, {}, None
    values: dict[str, Any] = {
        "invoice_number": found.number,
        "invoice_id": found.id,
        "recipient": found.rcp_name,
        "amount_due": found.amount_due,
        "currency": found.currency,
        "issue_date": found.issue_date,
        "buyer_name": found.buyer_name,
    }
    values = {key: value for key, value in values.items() if value is not None}
    if found.recipient_id is None or found.rcp_id is None or found.rcp_tenant != tenant_id:
        return values, {}, None
    recipient = Recipient(id=found.rcp_id, tenant_id=found.rcp_tenant, secrets=found.rcp_secrets)
    try:
        every = repository.recipient_secrets(recipient, box)
    except Exception as exc:  # never log the value: only what kind of failure it was
        problem = f"the channel's secrets cannot be opened ({type(exc).__name__}); check GATEWAY_MASTER_KEY"
        return values, {}, problem
    return values, {str(k): str(v) for k, v in (every.get(channel_name) or {}).items()}, None


def _documents(s: Session, tenant_id: str, invoice_id: str, kinds: list[str]) -> list[OutgoingDocument]:
    rows = s.execute(_DOCUMENTS_OF, {"invoice_id": invoice_id, "tenant_id": tenant_id, "kinds": kinds}).all()
    by_kind = {row.kind: row for row in rows}
    return [
        OutgoingDocument(by_kind[k].filename, by_kind[k].content, by_kind[k].media_type, k)
        for k in kinds
        if k in by_kind
    ]


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


RECORD_PATIENCE = 60.0  # seconds an attempt's outcome waits for an unreachable database


def _record_when_possible(
    store: Store,
    claim: _Claim,
    result: DeliveryResult | None,
    error: DeliveryError | None,
    now: Callable[[], datetime],
    rng: Callable[[float, float], float],
) -> str:
    """``_record``, tried again while the database is unreachable (a restart, a failover).

    The send has happened: losing its outcome would leave the delivery ``sending`` until the
    reconciler gives up on it (``ABANDONED_AFTER``) and sends it again. ``_record`` is guarded
    (still ``sending`` at the claim's version), so trying again after a commit whose answer
    was lost changes nothing. Anything but an outage is raised at once.
    """
    from gateway.store.availability import database_unavailable

    deadline = time.monotonic() + RECORD_PATIENCE
    delay = 0.25
    while True:
        try:
            return _record(store, claim, result, error, now, rng)
        except Exception as exc:
            if not database_unavailable(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning(
                "delivery %s: the database is unavailable (%s); recording the attempt again in %.2f s",
                claim.delivery_id,
                type(exc).__name__,
                delay,
            )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _record(
    store: Store,
    claim: _Claim,
    result: DeliveryResult | None,
    error: DeliveryError | None,
    now: Callable[[], datetime],
    rng: Callable[[float, float], float],
) -> str:
    with store.session() as s:
        moment = now()
        raw_code: str | None
        reason: str | None
        changes: dict[str, Any]
        if result is not None:
            status, raw_code, reason = T.DELIVERED, result.raw_code or result.status, None
            reference = result.remote_reference
            sent, received = result.sent, result.received
            changes = {
                "remote_reference": reference[:MAX_REFERENCE] if reference else None,
                "last_error": None,
                "next_attempt_at": None,
            }
        else:
            assert error is not None
            permanent = isinstance(error, PermanentDeliveryError)
            exhausted = claim.attempt >= claim.max_attempts
            reason = str(error)
            raw_code = error.raw_code
            reference = None
            sent, received = error.sent, error.received
            if permanent or exhausted:
                status = T.FAILED
                if exhausted and not permanent:
                    reason = f"{reason} (gave up after {claim.attempt} attempts)"
                changes = {"next_attempt_at": None}
            else:
                status = T.RETRYING
                changes = {
                    "next_attempt_at": moment + timedelta(seconds=backoff_delay(claim.attempt, rng=rng))
                }
            changes["last_error"] = reason
        check_transport(T.SENDING, status)
        # Guarded like the claim: still ``sending`` at the version the claim left (Core, no
        # unit of work); otherwise a stalled-attempt recovery took it over and its attempt decides.
        params = {
            "delivery_id": claim.delivery_id,
            "claimed_version": claim.version,
            "new_status": status.value,
            "moment": moment,
            **{f"new_{name}": value for name, value in changes.items()},
        }
        statement = _RECORD_DELIVERED if result is not None else _RECORD_NOT_DELIVERED
        moved: CursorResult[Any] = s.execute(statement, params)  # type: ignore[assignment]
        if moved.rowcount == 0:
            current: str | None = s.scalar(_STATUS_OF, {"delivery_id": claim.delivery_id})
            if current is None:
                return "missing"
            log.warning(
                "delivery %s: attempt %d finished after it was taken over", claim.delivery_id, claim.attempt
            )
            return current
        evidence = _evidence(s, claim, status.value, raw_code, reason, sent, received, reference)
        repository.insert_events(
            s,
            [
                {
                    "tenant_id": claim.tenant_id,
                    "invoice_id": claim.invoice_id,
                    "delivery_id": claim.delivery_id,
                    "axis": "transport",
                    "status": status.value,
                    "previous": T.SENDING.value,
                    "source": f"channel:{claim.channel_type}",
                    "raw_code": (raw_code or None) and str(raw_code)[:100],
                    "reason": reason,
                    "evidence_sha256": evidence,
                    "final": status is T.FAILED,
                    "attempt": claim.attempt,
                }
            ],
        )
        _refresh_invoice_status(s, claim.invoice_id)
        return status.value
