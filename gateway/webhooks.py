"""Status webhooks to the customer's ERP, signed the Standard Webhooks way, sent from an outbox.

Signing (https://www.standardwebhooks.com, spec 1.0.0): each endpoint has its own secret
``whsec_<base64 of 24–64 random bytes>``; a request carries

* ``webhook-id``: the message id (``msg_…``), the same on every retry: the receiver's
  idempotency key;
* ``webhook-timestamp``: this attempt's Unix time in seconds (new on every retry, so an old
  capture cannot be replayed past the receiver's tolerance);
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>``
  (space-separated list, so a rotation can send old and new signatures side by side).

``sign``/``verify`` are also the reference customers can copy: ``verify`` compares in
constant time and rejects timestamps more than five minutes away from its clock.

Sending: ``append_event`` (the repository) writes one ``WebhookMessage`` per active webhook
in the same transaction as the status change, so a notification exists if and only if the
change committed. ``send_due_webhooks`` then claims due messages with a lease (a crashed
sender's messages come back after it), POSTs the exact signed bytes with a timeout on every
call, never follows redirects (a 3xx is a failure, as the spec advises), and on failure
schedules the next attempt with exponential backoff and jitter (5 s … 1 h) until
``max_attempts``; 410 Gone disables the endpoint. Secrets are opened only to sign and never
logged; URLs are logged without user-info or query.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import http.client
import json
import random
import secrets as _secrets
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update

from gateway.logging import get_logger
from gateway.secretbox import SecretBox
from gateway.store import Store
from gateway.store.models import Webhook, WebhookMessage, utcnow

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "SECRET_PREFIX",
    "TOLERANCE_SECONDS",
    "SendSummary",
    "WebhookUrlError",
    "WebhookVerificationError",
    "backoff_seconds",
    "check_url",
    "encode_body",
    "generate_secret",
    "headers_for",
    "send_due_webhooks",
    "sign",
    "verify",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
TOLERANCE_SECONDS = 5 * 60
DEFAULT_MAX_ATTEMPTS = 12  # 5 s, 10 s, 20 s … capped at 1 h: about 5 hours of trying
BACKOFF_BASE = 5.0
BACKOFF_CAP = 3600.0
LEASE_SECONDS = 60.0  # a claimed message comes back after this if its sender died
MAX_ERROR_TEXT = 500
USER_AGENT = "einvoice-gateway-webhooks/1"

_log = get_logger("gateway.webhooks")


class WebhookVerificationError(Exception):
    """The request is not an authentic, fresh webhook (the message says which check failed)."""


class WebhookUrlError(ValueError):
    """A webhook URL the sender refuses (not http/https, no host, user-info)."""


# -- signing -------------------------------------------------------------------------------


def generate_secret(nbytes: int = 32) -> str:
    """A new endpoint secret, ``whsec_`` + base64 of ``nbytes`` random bytes (24–64)."""
    if not 24 <= nbytes <= 64:
        raise ValueError("a webhook secret has 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode("ascii")


def _key(secret: str | bytes) -> bytes:
    """The HMAC key: the bytes behind ``whsec_<base64>`` (the prefix is optional)."""
    if isinstance(secret, bytes):
        return secret
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def sign(msg_id: str, timestamp: int, body: bytes | str, secret: str | bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}")>``: the same signature as
    the ``http`` channel's (``connectors.http.signature_with_key``), which refuses a "." in
    the id (two (id, timestamp) pairs would sign the same bytes)."""
    from connectors.http import signature_with_key

    return signature_with_key(msg_id, timestamp, _as_bytes(body), _key(secret))


def headers_for(
    msg_id: str, timestamp: int, body: bytes | str, secrets: str | bytes | Sequence[str | bytes]
) -> dict[str, str]:
    """The three Standard Webhooks headers; several secrets (a rotation) give several signatures."""
    keys = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(sign(msg_id, timestamp, body, k) for k in keys),
    }


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Accept an authentic, fresh webhook or raise ``WebhookVerificationError`` saying why.

    Header names are matched case-insensitively; any ``v1`` entry of ``webhook-signature``
    may match (secret rotation); the comparison is constant-time.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not lower.get(name):
            raise WebhookVerificationError(f"missing header {name}")
    msg_id, stamp, signatures = lower["webhook-id"], lower["webhook-timestamp"], lower["webhook-signature"]
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {int(current - timestamp)} s away from now (tolerance {tolerance} s)"
        )
    try:
        expected = sign(msg_id, timestamp, body, secret).removeprefix("v1,").encode("ascii")
    except ValueError as exc:
        raise WebhookVerificationError(str(exc)) from None
    matched = False
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode("ascii", "replace"), expected):
            matched = True  # keep looping: the time taken does not depend on which entry matched
    if not matched:
        raise WebhookVerificationError("no v1 signature matches")


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact, key-sorted JSON (the same on every retry)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


# -- sending -------------------------------------------------------------------------------


def check_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path?query)`` of an http(s) URL, or ``WebhookUrlError``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookUrlError(f"webhook URLs must be http or https, not {scheme or 'none'!r}")
    if not parts.hostname:
        raise WebhookUrlError("the webhook URL has no host")
    if parts.username or parts.password:
        raise WebhookUrlError("the webhook URL must not carry user-info (credentials)")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise WebhookUrlError("the webhook URL has an invalid port") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port, target


def _shown(url: str) -> str:
    """The URL as logs show it: no user-info, no query (tokens hide there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def backoff_seconds(attempt: int, *, rng: random.Random | None = None) -> float:
    """Delay before attempt ``attempt + 1`` after ``attempt`` failures: exponential from 5 s,
    capped at 1 h, with "equal jitter" (between half and all of it) so endpoints that failed
    together do not all come back at the same second, yet never sooner than 5 s."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(attempt - 1, 0))
    jitter: float = (rng or random).uniform(0, ceiling / 2)
    return max(BACKOFF_BASE, ceiling / 2 + jitter)


@dataclass(frozen=True)
class _Attempt:
    ok: bool
    status: int | None
    error: str | None
    retry_after: float | None = None
    permanent: bool = False  # retrying cannot help (a URL the sender refuses)


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> _Attempt:
    """One POST with the standard library: no redirects followed, no proxies, timeouts on
    connect and every read; only the status and a short excerpt of the answer are kept."""
    try:
        scheme, host, port, target = check_url(url)
    except WebhookUrlError as exc:
        return _Attempt(False, None, str(exc), permanent=True)
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(
            "POST",
            target,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Content-Length": str(len(body)),
            },
        )
        response = conn.getresponse()
        excerpt = response.read(2048)
        status = response.status
        retry_after: float | None = None
        header = response.getheader("Retry-After")
        if header and header.strip().isdigit():
            retry_after = float(header.strip())
    except (OSError, http.client.HTTPException) as exc:
        return _Attempt(False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT])
    finally:
        conn.close()
    if 200 <= status < 300:
        return _Attempt(True, status, None)
    text = excerpt.decode("utf-8", "replace").strip().replace("\n", " ")
    return _Attempt(False, status, f"HTTP {status}: {text}"[:MAX_ERROR_TEXT], retry_after)


@dataclass
class SendSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    message_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claimed:
    message_id: str
    tenant_id: str
    webhook_id: str
    url: str
    sealed_secret: bytes
    payload: dict[str, Any]
    attempts: int


def _now_value(now: datetime | Callable[[], datetime] | None) -> datetime:
    if now is None:
        return utcnow()
    return now() if callable(now) else now


def _open_secret(item: _Claimed, box: SecretBox) -> str:
    from gateway.store import repository

    # a transient row carrying what the repository's sealing binds the secret to
    shell = Webhook(id=item.webhook_id, tenant_id=item.tenant_id, url=item.url, secret=item.sealed_secret)
    return repository.webhook_secret(shell, box)


def _claim(store: Store, now: datetime, limit: int) -> list[_Claimed]:
    """Take up to ``limit`` due messages: push their ``next_attempt_at`` a lease into the future
    in a short transaction, so other senders skip them and a crash returns them later."""
    lease_until = now + timedelta(seconds=LEASE_SECONDS)
    with store.session() as s:
        query = (
            select(WebhookMessage, Webhook)
            .join(Webhook, Webhook.id == WebhookMessage.webhook_id)
            .where(
                WebhookMessage.status == "pending",
                or_(WebhookMessage.next_attempt_at.is_(None), WebhookMessage.next_attempt_at <= now),
            )
            .order_by(WebhookMessage.event_id, WebhookMessage.id)
            .limit(limit)
        )
        if not store.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=WebhookMessage)
        claimed: list[_Claimed] = []
        for message, hook in s.execute(query).all():
            if not hook.active:
                message.status = "failed"
                message.last_error = "the webhook endpoint is disabled"
                continue
            # compare-and-set: another sender that read the same row first wins it (SQLite
            # takes no row lock on a SELECT; the WHERE on the old lease decides instead)
            taken = s.execute(
                update(WebhookMessage)
                .where(
                    WebhookMessage.id == message.id,
                    WebhookMessage.status == "pending",
                    or_(WebhookMessage.next_attempt_at.is_(None), WebhookMessage.next_attempt_at <= now),
                )
                .values(next_attempt_at=lease_until)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
            claimed.append(
                _Claimed(
                    message.id,
                    message.tenant_id,
                    hook.id,
                    hook.url,
                    hook.secret,
                    dict(message.payload),
                    message.attempts,
                )
            )
    return claimed


def _deliver_one(
    item: _Claimed, box: SecretBox, timeout: float, stamp: datetime
) -> tuple[_Claimed, _Attempt]:
    body = encode_body(item.payload)
    try:
        secret = _open_secret(item, box)
    except Exception as exc:  # a secret that does not open: never send unsigned
        return item, _Attempt(False, None, f"the endpoint secret does not open ({type(exc).__name__})")
    headers = headers_for(item.message_id, int(stamp.timestamp()), body, secret)
    return item, _post(item.url, body, headers, timeout)


def send_due_webhooks(
    store: Store,
    box: SecretBox,
    *,
    now: datetime | Callable[[], datetime] | None = None,
    client_timeout: float = 10.0,
    limit: int = 100,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    parallel: int = 4,
    rng: random.Random | None = None,
) -> SendSummary:
    """Send every due pending message once (up to ``limit``); returns what happened.

    Safe to run from several processes at once (claims skip each other's rows on PostgreSQL;
    on SQLite there is one process). At-least-once: a sender that dies after the POST but
    before recording it sends again after the lease; ``webhook-id`` lets the receiver notice.
    """
    started = _now_value(now)
    claimed = _claim(store, started, limit)
    summary = SendSummary()
    if not claimed:
        return summary
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(claimed)))) as pool:
        results = list(pool.map(lambda c: _deliver_one(c, box, client_timeout, started), claimed))
    finished = _now_value(now)
    with store.session() as s:
        for item, attempt in results:
            attempts = item.attempts + 1
            values: dict[str, Any] = {"attempts": attempts}
            context = {
                "message_id": item.message_id,
                "webhook_id": item.webhook_id,
                "tenant_id": item.tenant_id,
                "url": _shown(item.url),
                "attempt": attempts,
                "http_status": attempt.status,
            }
            if attempt.ok:
                values.update(status="sent", next_attempt_at=None, last_error=None)
                summary.sent += 1
                _log.info("webhook.sent", **context)
            elif attempt.permanent or attempt.status == 410 or attempts >= max_attempts:
                values.update(status="failed", next_attempt_at=None, last_error=attempt.error)
                summary.failed += 1
                if attempt.status == 410:  # the receiver asked us to stop (spec: disable the endpoint)
                    s.execute(update(Webhook).where(Webhook.id == item.webhook_id).values(active=False))
                _log.warning("webhook.failed", error=attempt.error, **context)
            else:
                delay = backoff_seconds(attempts, rng=rng)
                if attempt.retry_after is not None:
                    delay = max(delay, min(attempt.retry_after, BACKOFF_CAP))
                values.update(next_attempt_at=finished + timedelta(seconds=delay), last_error=attempt.error)
                summary.retrying += 1
                _log.info("webhook.retrying", error=attempt.error, retry_in_s=round(delay, 1), **context)
            s.execute(update(WebhookMessage).where(WebhookMessage.id == item.message_id).values(**values))
            summary.message_ids.append(item.message_id)
    return summary
