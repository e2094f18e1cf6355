"""The one small protocol every delivery channel speaks.

``send(documents, settings, secrets, delivery_id=...) -> DeliveryResult``: bytes and settings
in, the outcome out. A connector knows nothing of invoices, tenants or the store. It maps
its library's errors into the two kinds the gateway acts on:

* ``TransientDeliveryError``: try again later (connection refused or reset, timeout, SMTP
  4xx, HTTP 5xx, cXML 5xx);
* ``PermanentDeliveryError``: retrying will not help (authentication refused, unknown host
  key, cXML 4xx, SMTP 5xx, a remote path the settings forbid).

``delivery_id`` is stable for one delivery across attempts: remote file names and cXML
``payloadID`` derive from it, so a repeated send after a crash is recognisable (same name,
same bytes) rather than a second invoice. Every result and error carries the evidence:
what was sent and what came back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Connector",
    "DeliveryError",
    "DeliveryResult",
    "OutgoingDocument",
    "PermanentDeliveryError",
    "TransientDeliveryError",
]


@dataclass(frozen=True)
class OutgoingDocument:
    """One document of the delivery: its bytes, a file name and its media type."""

    filename: str
    content: bytes
    media_type: str
    kind: str = ""  # ubl | cii | facturx | pdf | cxml …


@dataclass(frozen=True)
class DeliveryResult:
    """The receiving side accepted the documents.

    ``status`` is ``delivered`` or ``accepted`` (cXML 201: processing goes on, more status
    later); ``remote_reference`` what the other side calls it (a path, a Message-ID, a cXML
    payloadID); ``sent`` and ``received`` the evidence bytes.
    """

    status: str = "delivered"
    remote_reference: str | None = None
    raw_code: str | None = None
    sent: bytes = b""
    received: bytes = b""
    details: Mapping[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """A send that did not succeed; ``raw_code`` and the evidence say what happened."""

    def __init__(
        self, message: str, *, raw_code: str | None = None, sent: bytes = b"", received: bytes = b""
    ) -> None:
        super().__init__(message)
        self.raw_code = raw_code
        self.sent = sent
        self.received = received


class TransientDeliveryError(DeliveryError):
    """Worth trying again later."""


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help; an operator must change something."""


class Connector(Protocol):
    def send(
        self,
        documents: Sequence[OutgoingDocument],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        delivery_id: str,
    ) -> DeliveryResult: ...
