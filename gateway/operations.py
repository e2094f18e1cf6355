"""What an operator may do to a delivery: retry it, or cancel it. Tenant-scoped.

Both are status moves like any other: checked against the lifecycle
(``InvalidTransition`` → 409 for the API), recorded as an event with source
``operator``, and reflected in the invoice's summary status, in the caller's transaction.
A delivery of another tenant is not found (``None`` → 404), never "forbidden".
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gateway.delivery import update_invoice_status
from gateway.lifecycle import InvalidTransition, TransportStatus, check_transport
from gateway.store import repository
from gateway.store.models import Delivery, utcnow

__all__ = ["RETRY_BUDGET", "cancel_delivery", "retry_delivery"]

T = TransportStatus
RETRY_BUDGET = 8
"""Attempts an operator's retry grants on top of those already made."""


def _move(s: Session, d: Delivery, to: TransportStatus, *, operator_retry: bool = False) -> str:
    """Apply the move under the optimistic lock, in a savepoint: if a worker moved the
    delivery meanwhile, nothing of this request is kept and the caller gets a 409."""
    previous, now = d.status, utcnow()
    try:
        with s.begin_nested():
            d.status = to.value
            d.updated_at = now
            if operator_retry:
                d.next_attempt_at = now
                d.max_attempts = max(d.max_attempts, d.attempts + RETRY_BUDGET)
            else:
                d.next_attempt_at = None
    except StaleDataError:
        raise InvalidTransition(
            f"delivery {d.id} changed while this request was made (a worker picked it up); look again"
        ) from None
    return previous


def retry_delivery(
    s: Session, tenant_id: str, delivery_id: str, *, reason: str | None = None
) -> Delivery | None:
    """``failed`` or ``retrying`` → ``queued``, due now, with a fresh budget of attempts."""
    d = repository.get_delivery(s, tenant_id, delivery_id)
    if d is None:
        return None
    if d.status not in (T.FAILED.value, T.RETRYING.value):
        raise InvalidTransition(f"only a failed or retrying delivery can be retried; this one is {d.status}")
    check_transport(d.status, T.QUEUED)
    previous = _move(s, d, T.QUEUED, operator_retry=True)
    repository.append_event(
        s,
        tenant_id=tenant_id,
        invoice_id=d.invoice_id,
        delivery_id=d.id,
        axis="transport",
        status=T.QUEUED.value,
        previous=previous,
        source="operator",
        reason=reason or "retried by an operator",
    )
    update_invoice_status(s, d.invoice_id)
    if s.get_bind().dialect.name == "postgresql":
        from gateway.jobs import defer_delivery

        defer_delivery(s, d.id)
    return d


def cancel_delivery(
    s: Session, tenant_id: str, delivery_id: str, *, reason: str | None = None
) -> Delivery | None:
    """→ ``canceled`` (final) where the lifecycle allows it: never once it is sending or delivered."""
    d = repository.get_delivery(s, tenant_id, delivery_id)
    if d is None:
        return None
    check_transport(d.status, T.CANCELED)
    previous = _move(s, d, T.CANCELED)
    repository.append_event(
        s,
        tenant_id=tenant_id,
        invoice_id=d.invoice_id,
        delivery_id=d.id,
        axis="transport",
        status=T.CANCELED.value,
        previous=previous,
        source="operator",
        reason=reason or "canceled by an operator",
        final=True,
    )
    update_invoice_status(s, d.invoice_id)
    return d
