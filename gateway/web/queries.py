"""What the dashboard reads from the store: each query takes the tenant id and filters on it.

The counts and lists behind the Overview, the invoice search (the filters of the Invoices
page, keyset-paged with the repository's own cursor), and an invoice with everything its
page shows. Reads only: every change goes through the functions the API uses
(``gateway.operations``, ``repository.create_recipient`` / ``update_recipient``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.lifecycle import BusinessStatus, TransportStatus
from gateway.store import repository
from gateway.store.models import Delivery, Document, Event, Evidence, Invoice, Recipient

__all__ = [
    "ATTENTION_RETRYING_AFTER",
    "Attention",
    "InvoicePage",
    "Overview",
    "invoice_page",
    "moves",
    "overview",
    "percentile",
]

T = TransportStatus
ATTENTION_RETRYING_AFTER = timedelta(hours=1)
"""A delivery still retrying this long after its first failed attempt needs someone to look."""
MAX_DURATIONS = 10_000
"""Time-to-delivered is computed over at most this many of the latest deliveries."""
MAX_ATTENTION = 100
"""Rows per group of the "needs attention" list."""
_FAILURES = (T.RETRYING.value, T.FAILED.value, T.REJECTED_TECHNICAL.value)
HISTOGRAM_BUCKETS: tuple[tuple[str, float], ...] = (
    ("under 1 s", 1),
    ("1–10 s", 10),
    ("10–60 s", 60),
    ("1–10 min", 600),
    ("10–60 min", 3600),
    ("1–6 h", 6 * 3600),
    ("6–24 h", 86400),
    ("over 1 day", math.inf),
)


@dataclass
class Attention:
    """One delivery that needs someone: why, since when, and what it said."""

    kind: str  # failed | retrying | rejected
    delivery_id: str
    invoice_id: str
    invoice_number: str
    channel_type: str
    channel_name: str
    status: str
    business_status: str | None
    since: datetime
    detail: str | None
    can_retry: bool
    can_cancel: bool


@dataclass
class Overview:
    today: datetime
    week: datetime
    invoices: dict[str, tuple[int, int]]  # status → (today, last 7 days)
    deliveries: dict[str, tuple[int, int]]
    failures: list[tuple[str, str, int, str | None]]  # channel, raw code, attempts, a reason
    durations: list[float]  # seconds from accepted to delivered, latest first
    attention: list[Attention] = field(default_factory=list)

    @property
    def p50(self) -> float | None:
        return percentile(self.durations, 0.5)

    @property
    def p90(self) -> float | None:
        return percentile(self.durations, 0.9)

    @property
    def histogram(self) -> list[tuple[str, int]]:
        counts = [0] * len(HISTOGRAM_BUCKETS)
        for seconds in self.durations:
            for index, (_, upper) in enumerate(HISTOGRAM_BUCKETS):
                if seconds < upper:
                    counts[index] += 1
                    break
        return [(label, count) for (label, _), count in zip(HISTOGRAM_BUCKETS, counts, strict=True)]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (a value that occurred), ``None`` without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _counts(
    s: Session, column: Any, tenant_column: Any, created: Any, tenant_id: str, since: datetime
) -> dict[str, int]:
    rows = s.execute(
        select(column, func.count()).where(tenant_column == tenant_id, created >= since).group_by(column)
    ).all()
    return {str(status): int(count) for status, count in rows}


def _by_status(today: dict[str, int], week: dict[str, int]) -> dict[str, tuple[int, int]]:
    order = [status.value for status in TransportStatus]
    keys = sorted(week, key=lambda k: (order.index(k) if k in order else len(order), k))
    return {key: (today.get(key, 0), week[key]) for key in keys}


def overview(s: Session, tenant_id: str, now: datetime) -> Overview:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = now - timedelta(days=7)
    invoices = _by_status(
        _counts(s, Invoice.status, Invoice.tenant_id, Invoice.created_at, tenant_id, today),
        _counts(s, Invoice.status, Invoice.tenant_id, Invoice.created_at, tenant_id, week),
    )
    deliveries = _by_status(
        _counts(s, Delivery.status, Delivery.tenant_id, Delivery.created_at, tenant_id, today),
        _counts(s, Delivery.status, Delivery.tenant_id, Delivery.created_at, tenant_id, week),
    )
    failure_rows = s.execute(
        select(Delivery.channel_type, Event.raw_code, func.count(), func.max(Event.reason))
        .join(Delivery, Delivery.id == Event.delivery_id)
        .where(
            Event.tenant_id == tenant_id,
            Delivery.tenant_id == tenant_id,
            Event.axis == "transport",
            Event.status.in_(_FAILURES),
            Event.created_at >= week,
        )
        .group_by(Delivery.channel_type, Event.raw_code)
    ).all()
    failures = sorted(
        (
            (str(channel), str(code or "(no code)"), int(count), reason)
            for channel, code, count, reason in failure_rows
        ),
        key=lambda row: (-row[2], row[0], row[1]),
    )
    delivered = s.execute(
        select(Event.created_at, Delivery.created_at)
        .join(Delivery, Delivery.id == Event.delivery_id)
        .where(
            Event.tenant_id == tenant_id,
            Delivery.tenant_id == tenant_id,
            Event.axis == "transport",
            Event.status == T.DELIVERED.value,
            Event.created_at >= week,
        )
        .order_by(Event.id.desc())
        .limit(MAX_DURATIONS)
    ).all()
    durations = [max(0.0, (done - started).total_seconds()) for done, started in delivered]
    return Overview(
        today=today,
        week=week,
        invoices=invoices,
        deliveries=deliveries,
        failures=failures,
        durations=durations,
        attention=attention(s, tenant_id, now),
    )


def moves(status: str) -> tuple[bool, bool]:
    """(may be retried, may be canceled) by an operator, as ``gateway.operations`` decides."""
    from gateway.lifecycle import InvalidTransition, check_transport

    retry = status in (T.FAILED.value, T.RETRYING.value)
    try:
        check_transport(status, T.CANCELED)
        cancel = True
    except (InvalidTransition, ValueError):
        cancel = False
    return retry, cancel


def attention(s: Session, tenant_id: str, now: datetime) -> list[Attention]:
    """Failed deliveries, deliveries retrying for over an hour, and invoices the buyer rejected."""
    base = (
        select(Delivery, Invoice.number)
        .join(Invoice, Invoice.id == Delivery.invoice_id)
        .where(Delivery.tenant_id == tenant_id, Invoice.tenant_id == tenant_id)
    )
    found: list[Attention] = []

    def add(kind: str, delivery: Delivery, number: str, since: datetime, detail: str | None) -> None:
        retry, cancel = moves(delivery.status)
        found.append(
            Attention(
                kind=kind,
                delivery_id=delivery.id,
                invoice_id=delivery.invoice_id,
                invoice_number=number,
                channel_type=delivery.channel_type,
                channel_name=delivery.channel_name,
                status=delivery.status,
                business_status=delivery.business_status,
                since=since,
                detail=detail,
                can_retry=retry,
                can_cancel=cancel,
            )
        )

    failed = s.execute(
        base.where(Delivery.status.in_((T.FAILED.value, T.REJECTED_TECHNICAL.value)))
        .order_by(Delivery.updated_at.desc())
        .limit(MAX_ATTENTION)
    ).all()
    for delivery, number in failed:
        add("failed", delivery, number, delivery.updated_at, delivery.last_error)

    retrying = s.execute(
        base.where(Delivery.status == T.RETRYING.value).order_by(Delivery.created_at).limit(5 * MAX_ATTENTION)
    ).all()
    started = _retrying_since(s, tenant_id, [d.id for d, _ in retrying])
    late = [
        (d, n, started.get(d.id, d.created_at))
        for d, n in retrying
        if started.get(d.id, d.created_at) <= now - ATTENTION_RETRYING_AFTER
    ]
    for delivery, number, since in sorted(late, key=lambda row: row[2])[:MAX_ATTENTION]:
        add("retrying", delivery, number, since, delivery.last_error)

    rejected = s.execute(
        base.where(Delivery.business_status == BusinessStatus.REJECTED.value)
        .order_by(Delivery.updated_at.desc())
        .limit(MAX_ATTENTION)
    ).all()
    reasons = _business_reasons(s, tenant_id, [d.id for d, _ in rejected])
    for delivery, number in rejected:
        add("rejected", delivery, number, delivery.updated_at, reasons.get(delivery.id))
    return found


def _retrying_since(s: Session, tenant_id: str, delivery_ids: list[str]) -> dict[str, datetime]:
    """When each delivery's current run of failed attempts began: its first ``retrying`` event
    after the last time it was (re)queued."""
    if not delivery_ids:
        return {}
    rows = s.execute(
        select(Event.delivery_id, Event.status, Event.created_at)
        .where(
            Event.tenant_id == tenant_id,
            Event.delivery_id.in_(delivery_ids),
            Event.axis == "transport",
            Event.status.in_((T.QUEUED.value, T.RETRYING.value)),
        )
        .order_by(Event.id)
    ).all()
    since: dict[str, datetime | None] = {}
    for delivery_id, status, created in rows:
        if delivery_id is None:
            continue
        if status == T.QUEUED.value:
            since[delivery_id] = None
        elif since.get(delivery_id) is None:
            since[delivery_id] = created
    return {k: v for k, v in since.items() if v is not None}


def _business_reasons(s: Session, tenant_id: str, delivery_ids: list[str]) -> dict[str, str | None]:
    if not delivery_ids:
        return {}
    rows = s.execute(
        select(Event.delivery_id, Event.reason, Event.raw_code)
        .where(
            Event.tenant_id == tenant_id,
            Event.delivery_id.in_(delivery_ids),
            Event.axis == "business",
            Event.status == BusinessStatus.REJECTED.value,
        )
        .order_by(Event.id)
    ).all()
    return {d: reason or code for d, reason, code in rows if d is not None}


# ---------------------------------------------------------------------------- invoices


@dataclass
class InvoicePage:
    invoice: Invoice
    recipient: Recipient | None
    documents: list[Document]
    deliveries: list[Delivery]
    events: list[Event]
    evidence: set[str]  # the evidence hashes the store keeps (downloadable)


def invoice_page(s: Session, tenant_id: str, invoice_id: str) -> InvoicePage | None:
    invoice = repository.get_invoice(s, tenant_id, invoice_id)
    if invoice is None:
        return None
    recipient = (
        repository.get_recipient(s, tenant_id, invoice.recipient_id)
        if invoice.recipient_id is not None
        else None
    )
    documents = repository.invoice_documents(s, tenant_id, invoice.id)
    deliveries = repository.invoice_deliveries(s, tenant_id, invoice.id)
    events = repository.list_events(s, tenant_id, invoice.id)
    hashes = {e.evidence_sha256 for e in events if e.evidence_sha256}
    kept: set[str] = set()
    if hashes:
        kept = set(
            s.scalars(
                select(Evidence.sha256).where(Evidence.tenant_id == tenant_id, Evidence.sha256.in_(hashes))
            )
        )
    return InvoicePage(invoice, recipient, documents, deliveries, events, kept)
