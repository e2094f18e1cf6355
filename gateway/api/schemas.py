"""The API's JSON shapes: pydantic models for the OpenAPI document, and the functions that
turn store rows into them.

Rows become plain dicts inside the session that loaded them (``*_json`` functions), so a
response never touches a lazy relationship after the session closed. Links are relative
to the API root (``/v1/...``): they stay right behind any proxy that keeps the path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.store.models import Delivery, Document, Event, Invoice, Webhook

__all__ = [
    "DeliveryOut",
    "DocumentOut",
    "EventOut",
    "InvoiceAccepted",
    "InvoiceList",
    "InvoiceOut",
    "InvoiceSummary",
    "WebhookCreated",
    "WebhookIn",
    "WebhookOut",
    "delivery_json",
    "document_json",
    "event_json",
    "invoice_json",
    "invoice_summary_json",
    "webhook_json",
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class DeliveryOut(_Out):
    id: str
    channel: str = Field(description="The recipient channel's name.")
    channel_type: str = Field(description="folder | sftp | email | ariba | http")
    status: str = Field(description="Transport axis (see the status lifecycle).")
    business_status: str | None = Field(description="Business axis: what the buyer did.")
    attempts: int
    max_attempts: int
    next_attempt_at: str | None
    last_error: str | None
    remote_reference: str | None
    payload_id: str
    documents: list[str]
    created_at: str
    updated_at: str
    links: dict[str, str]


class DocumentOut(_Out):
    kind: str
    media_type: str
    filename: str
    sha256: str
    size: int
    signed: bool
    href: str


class EventOut(_Out):
    id: int
    delivery_id: str | None
    axis: str = Field(description="transport | business")
    status: str
    previous: str | None
    source: str
    raw_code: str | None
    reason: str | None
    evidence_sha256: str | None
    final: bool
    attempt: int | None
    at: str


class InvoiceSummary(_Out):
    id: str
    number: str
    issue_date: str | None
    currency: str | None
    amount_due: str | None
    buyer_name: str | None
    recipient_id: str | None
    source_kind: str
    status: str
    business_status: str | None
    created_at: str
    links: dict[str, str]


class InvoiceOut(InvoiceSummary):
    idempotency_key: str | None
    updated_at: str
    documents: list[DocumentOut]
    deliveries: list[DeliveryOut]
    events: list[EventOut]


class InvoiceAccepted(_Out):
    id: str
    status: str
    replay: bool = Field(description="True when an Idempotency-Key returned an earlier submission.")
    deliveries: list[dict[str, str]] = Field(description="[{id, channel, channel_type, status}]")
    links: dict[str, str]


class InvoiceList(_Out):
    data: list[InvoiceSummary]
    next_cursor: str | None
    links: dict[str, str]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, description="https:// (or http:// for local tests)")


class WebhookOut(_Out):
    id: str
    url: str
    active: bool
    created_at: str


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_…). Shown once, on creation only.")


# ---------------------------------------------------------------- rows to JSON


def invoice_links(invoice_id: str) -> dict[str, str]:
    return {"self": f"/v1/invoices/{invoice_id}", "documents": f"/v1/invoices/{invoice_id}/documents"}


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "invoice_id": delivery.invoice_id,
        "channel": delivery.channel_name,
        "channel_type": delivery.channel_type,
        "status": delivery.status,
        "business_status": delivery.business_status,
        "attempts": delivery.attempts,
        "max_attempts": delivery.max_attempts,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "last_error": delivery.last_error,
        "remote_reference": delivery.remote_reference,
        "payload_id": delivery.payload_id,
        "documents": list(delivery.document_kinds or []),
        "created_at": _iso(delivery.created_at),
        "updated_at": _iso(delivery.updated_at),
        "links": {
            "invoice": f"/v1/invoices/{delivery.invoice_id}",
            "retry": f"/v1/deliveries/{delivery.id}/retry",
            "cancel": f"/v1/deliveries/{delivery.id}/cancel",
        },
    }


def document_json(document: Document) -> dict[str, Any]:
    return {
        "kind": document.kind,
        "media_type": document.media_type,
        "filename": document.filename,
        "sha256": document.sha256,
        "size": document.size,
        "signed": document.signed,
        "href": f"/v1/invoices/{document.invoice_id}/documents/{document.kind}",
    }


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "delivery_id": event.delivery_id,
        "axis": event.axis,
        "status": event.status,
        "previous": event.previous,
        "source": event.source,
        "raw_code": event.raw_code,
        "reason": event.reason,
        "evidence_sha256": event.evidence_sha256,
        "final": event.final,
        "attempt": event.attempt,
        "at": _iso(event.created_at),
    }


def invoice_summary_json(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "currency": invoice.currency,
        "amount_due": invoice.amount_due,
        "buyer_name": invoice.buyer_name,
        "recipient_id": invoice.recipient_id,
        "source_kind": invoice.source_kind,
        "status": invoice.status,
        "business_status": invoice.business_status,
        "created_at": _iso(invoice.created_at),
        "links": invoice_links(invoice.id),
    }


def invoice_json(
    invoice: Invoice, documents: list[Document], deliveries: list[Delivery], events: list[Event]
) -> dict[str, Any]:
    return {
        **invoice_summary_json(invoice),
        "idempotency_key": invoice.idempotency_key,
        "updated_at": _iso(invoice.updated_at),
        "documents": [document_json(d) for d in documents],
        "deliveries": [delivery_json(d) for d in deliveries],
        "events": [event_json(e) for e in events],
    }


def accepted_json(invoice: Invoice, deliveries: list[Delivery], *, replay: bool) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "status": invoice.status,
        "replay": replay,
        "deliveries": [
            {"id": d.id, "channel": d.channel_name, "channel_type": d.channel_type, "status": d.status}
            for d in deliveries
        ],
        "links": invoice_links(invoice.id),
    }


def webhook_json(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "active": webhook.active,
        "created_at": _iso(webhook.created_at),
    }
