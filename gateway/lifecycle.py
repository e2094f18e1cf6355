"""The delivery status lifecycle: two axes, the allowed moves, and which states are final.

Transport axis (what happened to our send) and business axis (what the buyer did), as in
``docs/architecture.md``. Every change of either is an append-only ``Event``; this module
only decides whether a move is allowed. It is the one place that answers "where does a
delivery change status?".

    accepted → validating → invalid (final)
                          → ready → queued → sending → delivered → acknowledged
                                           ↑    │  └→ rejected_technical (final)
                                           │    ├→ retrying ─┘ (back to sending)
                                           │    └→ failed (final; an operator may retry)
                                    canceled (final) from any state before delivered

The business axis may arrive out of order (a ``paid`` before ``approved``): every move is
allowed except out of a final business state (``rejected``, ``paid``, ``canceled``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BUSINESS_FINAL",
    "TRANSPORT_FINAL",
    "BusinessStatus",
    "InvalidTransition",
    "TransportStatus",
    "check_business",
    "check_transport",
]


class TransportStatus(StrEnum):
    ACCEPTED = "accepted"
    VALIDATING = "validating"
    INVALID = "invalid"
    READY = "ready"
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    FAILED = "failed"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    REJECTED_TECHNICAL = "rejected_technical"
    CANCELED = "canceled"


class BusinessStatus(StrEnum):
    IN_PROCESS = "in_process"
    UNDER_QUERY = "under_query"
    CONDITIONALLY_ACCEPTED = "conditionally_accepted"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAYING = "paying"
    PAID = "paid"
    CANCELED = "canceled"


T = TransportStatus
TRANSPORT_FINAL = frozenset({T.INVALID, T.REJECTED_TECHNICAL, T.CANCELED})
"""No automatic move leaves these. ``failed`` is not here: an operator may retry it."""

_TRANSPORT: dict[TransportStatus, frozenset[TransportStatus]] = {
    T.ACCEPTED: frozenset({T.VALIDATING, T.CANCELED}),
    T.VALIDATING: frozenset({T.INVALID, T.READY, T.CANCELED}),
    T.READY: frozenset({T.QUEUED, T.CANCELED}),
    T.QUEUED: frozenset({T.SENDING, T.CANCELED}),
    T.SENDING: frozenset({T.DELIVERED, T.RETRYING, T.FAILED, T.QUEUED}),  # QUEUED: a stalled job recovered
    T.RETRYING: frozenset({T.SENDING, T.FAILED, T.CANCELED, T.QUEUED}),
    T.FAILED: frozenset({T.QUEUED, T.CANCELED}),  # QUEUED: an operator's retry
    T.DELIVERED: frozenset({T.ACKNOWLEDGED, T.REJECTED_TECHNICAL}),
    T.ACKNOWLEDGED: frozenset({T.REJECTED_TECHNICAL}),
    T.INVALID: frozenset(),
    T.REJECTED_TECHNICAL: frozenset(),
    T.CANCELED: frozenset(),
}

B = BusinessStatus
BUSINESS_FINAL = frozenset({B.REJECTED, B.PAID, B.CANCELED})


class InvalidTransition(Exception):
    """A status move the lifecycle does not allow; the message names both states."""


def check_transport(current: TransportStatus | str, new: TransportStatus | str) -> None:
    """Raise ``InvalidTransition`` unless ``current`` → ``new`` is allowed."""
    old, to = TransportStatus(current), TransportStatus(new)
    if to not in _TRANSPORT[old]:
        allowed = ", ".join(sorted(_TRANSPORT[old])) or "nothing (final)"
        raise InvalidTransition(f"a delivery cannot go from {old} to {to}; from {old}: {allowed}")


def check_business(current: BusinessStatus | str | None, new: BusinessStatus | str) -> None:
    """Business statuses may arrive in any order, but nothing leaves a final one."""
    if current is not None and BusinessStatus(current) in BUSINESS_FINAL and BusinessStatus(new) != current:
        raise InvalidTransition(f"the buyer's status is already final ({current}); {new} cannot follow")
