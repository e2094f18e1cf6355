"""Rows and recipients for the store tests (written for them, no corpus needed)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.recipients import RecipientIn
from gateway.store.models import Delivery, Document, Invoice, new_id, utcnow

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
SFTP_PASSWORD = "s3cr3t-Sftp-Passw0rd"
ARIBA_SECRET = "ariba-Shared-Secret-42"


def recipient_data(name: str = "Acme GmbH", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "buyer": {"name": "Acme GmbH", "vat_identifier": "DE123456789"},
        "formats": [{"kind": "ubl", "profile": "peppol"}, {"kind": "pdf"}],
        "channels": [
            {"type": "folder", "name": "archive", "settings": {"path": "/srv/out"}},
            {
                "type": "sftp",
                "name": "edi",
                "settings": {
                    "host": "sftp.example.com",
                    "username": "acme",
                    "remote_path": "/in/{invoice_number}-{filename}",
                    "host_key": HOST_KEY,
                },
                "secrets": {"password": SFTP_PASSWORD},
            },
            {
                "type": "ariba",
                "name": "ariba",
                "settings": {
                    "url": "https://service.ariba.com/service/transaction/cxml.asp",
                    "from": {"domain": "NetworkID", "identity": "AN01000000001"},
                    "to": {"domain": "NetworkID", "identity": "AN01000000002"},
                    "sender": {"domain": "NetworkID", "identity": "AN01000000001"},
                    "deployment_mode": "test",
                },
                "secrets": {"shared_secret": ARIBA_SECRET},
            },
        ],
    }
    data.update(overrides)
    return data


def recipient_in(name: str = "Acme GmbH", **overrides: Any) -> RecipientIn:
    return RecipientIn.model_validate(recipient_data(name, **overrides))


def add_ubl_document(s: Session, tenant_id: str, invoice_id: str, number: str, content: bytes) -> None:
    """The invoice's stored UBL document ``{number}.xml`` (not flushed)."""
    s.add(
        Document(
            tenant_id=tenant_id,
            invoice_id=invoice_id,
            kind="ubl",
            media_type="application/xml",
            filename=f"{number}.xml",
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            content=content,
        )
    )


def add_invoice(
    s: Session,
    tenant_id: str,
    *,
    number: str = "INV-1",
    status: str = "queued",
    recipient_id: str | None = None,
    created_at: datetime | None = None,
    idempotency_key: str | None = None,
    with_children: bool = True,
) -> Invoice:
    """An accepted invoice with a UBL document and one delivery, as the pipeline writes them."""
    now = created_at or utcnow()
    invoice = Invoice(
        id=new_id("inv"),
        tenant_id=tenant_id,
        recipient_id=recipient_id,
        idempotency_key=idempotency_key,
        request_sha256=hashlib.sha256(number.encode()).hexdigest(),
        number=number,
        source_kind="json",
        status=status,
        created_at=now,
        updated_at=now,
    )
    s.add(invoice)
    s.flush()
    if with_children:
        add_ubl_document(s, tenant_id, invoice.id, number, f"<Invoice>{number}</Invoice>".encode())
        s.add(
            Delivery(
                tenant_id=tenant_id,
                invoice_id=invoice.id,
                channel_type="folder",
                channel_name="archive",
                status=status,
                payload_id=f"{invoice.id}.archive",
            )
        )
        s.flush()
    return invoice
