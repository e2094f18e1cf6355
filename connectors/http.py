"""The ``http`` channel: the documents POSTed to the buyer's endpoint.

* **One request per delivery.** One document is the body with its own media type; several
  are one ``multipart/mixed`` body (each part with its media type and file name), so an
  invoice and its attachments arrive together or not at all. The boundary derives from the
  documents: the same bytes on every attempt.
* **Idempotent.** ``Idempotency-Key: <delivery id>`` on every attempt, so a receiver can
  recognise a repeat (a crash after its 200 and before our status update).
* **Authentication** by secret: ``bearer_token`` (``Authorization: Bearer``), or
  ``basic_password`` with ``settings.username`` (HTTP basic), and independently
  ``hmac_secret``: the body signed the Standard Webhooks way (``webhook-id`` = delivery id,
  ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``), byte-for-byte
  what ``gateway.webhooks.verify`` checks. (connectors/ may not import gateway/, so the
  twenty lines of signing live here too; a test keeps the two in agreement.)
* **Success by status code.** 2xx delivered; 408, 425, 429, 5xx, timeouts and connection
  errors transient (a ``Retry-After`` is quoted in the message); 3xx permanent: redirects
  are never followed (a moved endpoint is a settings change, and following one would send
  the invoice and its credentials somewhere nobody configured); other 4xx permanent; a
  certificate that does not verify permanent.
* **Bounded.** Timeouts on connect and every read; at most 1 MB of the answer is read and
  kept as evidence. The evidence of what was sent is the request with the credential
  headers masked.

Standard library only (``http.client``): no proxy from the environment, no cookie jar.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from connectors.base import (
    DeliveryError,
    DeliveryResult,
    OutgoingDocument,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = ["MAX_RESPONSE", "HttpConnector", "multipart", "signature", "signature_with_key"]

MAX_RESPONSE = 1_000_000
DEFAULT_TIMEOUT = 30.0
USER_AGENT = "einvoice-gateway-http/1"
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
_MASKED = frozenset({"authorization"})
_RESERVED = frozenset(
    {
        "content-type",
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "idempotency-key",
        "authorization",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_UNSAFE_FILENAME = re.compile(r'["\\\x00-\x1f\x7f]')


def signature(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, key = base64 after ``whsec_``."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the hmac_secret is 'whsec_' followed by base64") from None
    return signature_with_key(msg_id, timestamp, body, key)


def signature_with_key(msg_id: str, timestamp: int, body: bytes, key: bytes) -> str:
    """The Standard Webhooks ``v1`` signature with the key's bytes (also what the gateway's
    own status webhooks carry: ``gateway.webhooks.sign``)."""
    if not msg_id or "." in msg_id:  # a "." would let two (id, timestamp) pairs sign the same bytes
        raise ValueError("a webhook id must be non-empty and contain no '.'")
    digest = hmac.new(key, f"{msg_id}.{int(timestamp)}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def multipart(documents: Sequence[OutgoingDocument]) -> tuple[bytes, str]:
    """(body, boundary) of a ``multipart/mixed`` with one part per document (RFC 2046)."""
    digest = hashlib.sha256()
    for doc in documents:
        digest.update(hashlib.sha256(doc.content).digest())
    boundary = "gw-" + digest.hexdigest()[:40]
    while any(boundary.encode() in doc.content for doc in documents):  # vanishingly unlikely
        boundary = "gw-" + hashlib.sha256(boundary.encode()).hexdigest()[:40]
    chunks: list[bytes] = []
    for doc in documents:
        name = _UNSAFE_FILENAME.sub("_", doc.filename) or "document"
        chunks += [
            f"--{boundary}\r\n".encode(),
            f"Content-Type: {_media_type(doc)}\r\n".encode("latin-1", "replace"),
            f'Content-Disposition: attachment; filename="{name}"\r\n'.encode(),
            f"Content-Length: {len(doc.content)}\r\n\r\n".encode(),
            doc.content,
            b"\r\n",
        ]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), boundary


def _media_type(doc: OutgoingDocument) -> str:
    value = doc.media_type or "application/octet-stream"
    return "application/octet-stream" if re.search(r"[\x00-\x1f\x7f]", value) else value


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _settings_error(text: str) -> PermanentDeliveryError:
    return PermanentDeliveryError(f"http channel: {text}", raw_code="SETTINGS")


class HttpConnector:
    """POSTs the documents to ``settings["url"]``; see the module docstring for the promises.

    Settings (``gateway.recipients.HttpSettings``): ``url``, ``headers``, ``username``,
    ``tls_ca_pem``, ``timeout``. Secrets: ``bearer_token`` | ``basic_password``, ``hmac_secret``.
    """

    def __init__(self, *, now: Callable[[], float] = time.time, max_response: int = MAX_RESPONSE) -> None:
        self._now = now
        self._max_response = max_response
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def send(
        self,
        documents: Sequence[OutgoingDocument],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        delivery_id: str,
    ) -> DeliveryResult:
        scheme, host, port, target, shown = self._url(settings)
        if not documents:
            raise PermanentDeliveryError("the delivery has no documents to send", raw_code="EMPTY")
        if len(documents) == 1:
            body, content_type = documents[0].content, _media_type(documents[0])
        else:
            body, boundary = multipart(documents)
            content_type = f'multipart/mixed; boundary="{boundary}"'
        headers = self._headers(settings, secrets, delivery_id, body)
        headers.update(
            {
                "Content-Type": content_type,
                "Content-Length": str(len(body)),
                "Idempotency-Key": delivery_id,
                "User-Agent": USER_AGENT,
                "Accept": "*/*",
            }
        )
        if len(documents) == 1:
            name = _UNSAFE_FILENAME.sub("_", documents[0].filename) or "document"
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
        sent = self._evidence(target, host, headers, body)
        try:
            timeout = float(settings.get("timeout") or DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            raise _settings_error("'timeout' must be a number") from None
        conn: http.client.HTTPConnection
        if scheme == "https":
            context = self._context(settings.get("tls_ca_pem") or None)
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            # headers encode as latin-1 in http.client; a non-latin-1 value is a settings mistake
            try:
                conn.request("POST", target, body=body, headers=headers)
            except UnicodeEncodeError:
                raise _settings_error("a header value is not latin-1 text") from None
            response = conn.getresponse()
            content = response.read(self._max_response + 1)
            truncated = len(content) > self._max_response
            content = content[: self._max_response]
            status, reason = response.status, response.reason
            answer = response.getheaders()
        except DeliveryError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise self._network_error(shown, exc, sent) from None
        finally:
            conn.close()
        received = self._received(status, reason, answer, content, truncated)
        lower = {k.lower(): v for k, v in answer}
        if 200 <= status < 300:
            return DeliveryResult(
                status="delivered",
                remote_reference=lower.get("location") or lower.get("x-request-id") or None,
                raw_code=str(status),
                sent=sent,
                received=received,
                details={"url": shown, "status": status, "size": len(body)},
            )
        excerpt = " ".join(content[:200].decode("utf-8", "replace").split())
        message = f"POST {shown} answered {status} {reason}".rstrip()
        if excerpt:
            message += f": {excerpt}"
        if 300 <= status < 400:
            where = lower.get("location")
            message += f" (redirect to {where} not followed: update the channel's url)" if where else ""
            raise PermanentDeliveryError(message, raw_code=str(status), sent=sent, received=received)
        if status in _TRANSIENT_STATUSES or status >= 500:
            retry_after = lower.get("retry-after")
            if retry_after:
                message += f" (Retry-After: {retry_after[:40]})"
            raise TransientDeliveryError(message, raw_code=str(status), sent=sent, received=received)
        raise PermanentDeliveryError(message, raw_code=str(status), sent=sent, received=received)

    # -- request

    @staticmethod
    def _url(settings: Mapping[str, Any]) -> tuple[str, str, int, str, str]:
        url = settings.get("url")
        if not isinstance(url, str) or not url:
            raise _settings_error("no 'url' setting")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        if scheme not in ("http", "https") or not host:
            raise _settings_error(f"{url!r} is not an absolute https:// URL")
        if parts.username or parts.password:
            raise _settings_error("credentials do not belong in the URL")
        if scheme == "http" and not _is_loopback(host):
            raise _settings_error(f"{url!r} must use https:// (plain http only to a loopback host)")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise _settings_error(f"{url!r} has an invalid port") from None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        shown = f"{scheme}://{parts.netloc}{parts.path or '/'}"  # no query: tokens hide there
        return scheme, host, port, target, shown

    def _headers(
        self, settings: Mapping[str, Any], secrets: Mapping[str, str], delivery_id: str, body: bytes
    ) -> dict[str, str]:
        headers: dict[str, str] = {}
        extra = settings.get("headers") or {}
        if not isinstance(extra, Mapping):
            raise _settings_error("'headers' must map names to values")
        for name, value in extra.items():
            text = str(value)
            if not _HEADER_NAME.fullmatch(str(name)) or "\r" in text or "\n" in text:
                raise _settings_error(f"header {name!r} is not a valid header")
            if str(name).lower() not in _RESERVED:
                headers[str(name)] = text
        bearer, password = secrets.get("bearer_token"), secrets.get("basic_password")
        if bearer and password:
            raise _settings_error("give either the 'bearer_token' or the 'basic_password' secret, not both")
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        elif password:
            username = settings.get("username")
            if not isinstance(username, str) or not username:
                raise _settings_error("the 'basic_password' secret needs a 'username' setting")
            token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        secret = secrets.get("hmac_secret")
        if secret:
            stamp = int(self._now())
            try:
                signed = signature(delivery_id, stamp, body, secret)
            except ValueError as exc:
                raise _settings_error(str(exc)) from None
            headers.update(
                {"webhook-id": delivery_id, "webhook-timestamp": str(stamp), "webhook-signature": signed}
            )
        for value in headers.values():
            if "\r" in value or "\n" in value:
                raise _settings_error("a header value (or secret) contains a line break")
        return headers

    def _context(self, ca_pem: str | None) -> ssl.SSLContext:
        key = ca_pem or ""
        with self._lock:
            context = self._contexts.get(key)
            if context is None:
                try:
                    context = (
                        ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
                    )
                except ssl.SSLError as exc:
                    raise PermanentDeliveryError(
                        f"the channel's tls_ca_pem cannot be loaded: {exc.reason or exc}", raw_code="TLS_CA"
                    ) from None
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                self._contexts[key] = context
        return context

    # -- evidence and errors

    @staticmethod
    def _evidence(target: str, host: str, headers: Mapping[str, str], body: bytes) -> bytes:
        lines = [f"POST {target} HTTP/1.1", f"Host: {host}"]
        for name, value in headers.items():
            if name.lower() in _MASKED:
                value = value.split(" ", 1)[0] + " ***"
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body

    @staticmethod
    def _received(
        status: int, reason: str, headers: Sequence[tuple[str, str]], content: bytes, truncated: bool
    ) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
        if truncated:
            lines.append(f"X-Gateway-Note: body truncated to {len(content)} bytes")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + content

    @staticmethod
    def _network_error(shown: str, exc: BaseException, sent: bytes) -> DeliveryError:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return PermanentDeliveryError(
                f"the TLS certificate of {shown} does not verify: {exc.verify_message or exc.reason}",
                raw_code="TLS_VERIFY",
                sent=sent,
            )
        if isinstance(exc, TimeoutError | socket.timeout):
            return TransientDeliveryError(f"POST {shown}: no answer in time", raw_code="TIMEOUT", sent=sent)
        if isinstance(exc, ConnectionRefusedError):
            return TransientDeliveryError(
                f"POST {shown}: connection refused", raw_code="ECONNREFUSED", sent=sent
            )
        if isinstance(exc, socket.gaierror):
            return TransientDeliveryError(
                f"POST {shown}: host not found ({exc.strerror})", raw_code="DNS", sent=sent
            )
        if isinstance(exc, http.client.RemoteDisconnected | ConnectionError):
            return TransientDeliveryError(
                f"POST {shown}: the server closed the connection without answering",
                raw_code="DISCONNECTED",
                sent=sent,
            )
        if isinstance(exc, http.client.HTTPException):
            return TransientDeliveryError(
                f"POST {shown}: malformed HTTP answer ({type(exc).__name__})", raw_code="PROTOCOL", sent=sent
            )
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return TransientDeliveryError(f"POST {shown}: {reason}", raw_code="NETWORK", sent=sent)
