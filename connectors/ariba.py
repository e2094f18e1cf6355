"""The ``ariba`` channel: a cXML InvoiceDetailRequest POSTed to SAP Ariba over HTTPS.

Contract with the pipeline: the delivery must carry exactly one document of kind ``cxml``,
rendered by ``formats.cxml.to_cxml(invoice, payload_id=formats.cxml.payload_id(delivery_id),
timestamp=<the delivery's creation time>, sender={**settings, "shared_secret": secret},
deployment_mode=settings["deployment_mode"])``. The envelope (credentials, payloadID,
deploymentMode) lives inside the document, so the connector never rebuilds it: it sends those
bytes as they were stored, and a retry is byte-identical (same payloadID, which is how Ariba
recognises a repeat).

* **HTTPS only**, certificate verified against the system store, or against ``ca_file``
  (constructor or ``settings["ca_file"]``; tests use it for their throwaway CA). No proxy
  from the environment, no redirects followed.
* **Timeouts** on connect and on every read (``timeout``, 30 s by default).
* **The synchronous cXML answer decides** (``Response/Status@code``): 200 delivered; 201
  (and other 2xx) accepted, more status to come by StatusUpdateRequest; 4xx permanent (401
  credentials, 406 not acceptable, 400 a document the DTD refuses…), the message quoting
  ``Status@text`` and its detail; 5xx transient. Without a readable cXML answer the HTTP status
  class decides (2xx with an unreadable body is *not* delivered: transient). Timeouts,
  refused or reset connections are transient; a certificate that does not verify is permanent.
* **Evidence**: the request body (the ``SharedSecret`` masked) and the response body (at most
  1 MB). ``remote_reference`` is the payloadID.
* **Connection reuse**: one kept-alive connection per host, port and trust store, taken out
  of the pool while in use (threads never share one), dropped on any error.
"""

from __future__ import annotations

import http.client
import re
import ssl
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from connectors.base import (
    DeliveryError,
    DeliveryResult,
    OutgoingDocument,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from formats.cxml.read import parse_cxml
from formats.errors import ParseError

__all__ = ["MAX_RESPONSE", "AribaConnector", "mask_secret"]

MAX_RESPONSE = 1_000_000
DEFAULT_TIMEOUT = 30.0
USER_AGENT = "einvoice-gateway-ariba/1"
_SECRET = re.compile(rb"(<SharedSecret\b[^>]*>)(.*?)(</SharedSecret>)", re.DOTALL)
_Key = tuple[str, int, str | None]


def mask_secret(body: bytes) -> bytes:
    """The cXML with every ``SharedSecret`` value replaced: evidence must not hold credentials."""
    return _SECRET.sub(lambda m: m.group(1) + b"********" + m.group(3), body)


def _all_text(element: etree._Element) -> str:
    return "".join(str(t) for t in element.itertext())


def _payload_id(body: bytes) -> str | None:
    head = body[:4096]
    found = re.search(rb"<cXML\b[^>]*\bpayloadID\s*=\s*\"([^\"]*)\"", head)
    return found.group(1).decode("utf-8", "replace") if found else None


class AribaConnector:
    """Sends the delivery's cXML to ``settings["url"]``; see the module docstring."""

    def __init__(self, *, ca_file: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.ca_file = ca_file
        self.timeout = timeout
        self._pool: dict[_Key, list[http.client.HTTPSConnection]] = {}
        self._lock = threading.Lock()
        self._contexts: dict[str | None, ssl.SSLContext] = {}

    def close(self) -> None:
        with self._lock:
            pools, self._pool = self._pool, {}
        for connections in pools.values():
            for conn in connections:
                conn.close()

    # -------------------------------------------------------------- settings

    def _context(self, ca_file: str | None) -> ssl.SSLContext:
        with self._lock:
            context = self._contexts.get(ca_file)
            if context is None:
                try:
                    context = ssl.create_default_context(cafile=ca_file)
                except (OSError, ssl.SSLError) as exc:
                    raise PermanentDeliveryError(
                        f"the CA file {ca_file} cannot be loaded: {exc}", raw_code="TLS"
                    ) from None
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                self._contexts[ca_file] = context
            return context

    @staticmethod
    def _document(documents: Sequence[OutgoingDocument]) -> OutgoingDocument:
        cxml = [d for d in documents if d.kind == "cxml"]
        if len(cxml) != 1:
            kinds = ", ".join(sorted({d.kind or "?" for d in documents})) or "none"
            raise PermanentDeliveryError(
                f"the ariba channel sends exactly one document of kind 'cxml' (rendered with "
                f"formats.cxml.to_cxml); this delivery has {len(cxml)} (kinds: {kinds}): add the "
                "'cxml' format to the recipient",
                raw_code="NO_CXML",
            )
        return cxml[0]

    # -------------------------------------------------------------- connections

    def _take(self, key: _Key, timeout: float) -> tuple[http.client.HTTPSConnection, bool]:
        with self._lock:
            free = self._pool.get(key)
            if free:
                return free.pop(), True
        host, port, ca_file = key
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context(ca_file))
        return conn, False

    def _give_back(self, key: _Key, conn: http.client.HTTPSConnection) -> None:
        with self._lock:
            self._pool.setdefault(key, []).append(conn)

    def _post(
        self, key: _Key, path: str, body: bytes, host_header: str, timeout: float
    ) -> tuple[int, str, bytes]:
        headers = {
            "Host": host_header,
            "Content-Type": "text/xml; charset=UTF-8",
            "Accept": "text/xml, application/xml",
            "User-Agent": USER_AGENT,
        }
        for attempt in (1, 2):
            conn, reused = self._take(key, timeout)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read(MAX_RESPONSE + 1)
                keep = not response.will_close and len(data) <= MAX_RESPONSE
                status, reason = response.status, response.reason
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if reused and attempt == 1:
                    continue  # a kept-alive connection the server closed meanwhile: once more, fresh
                raise
            except BaseException:
                conn.close()
                raise
            if keep:
                self._give_back(key, conn)
            else:
                conn.close()
            return status, reason, data[:MAX_RESPONSE]
        raise AssertionError("unreachable")  # pragma: no cover

    # -------------------------------------------------------------- send

    def send(
        self,
        documents: Sequence[OutgoingDocument],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        delivery_id: str,
    ) -> DeliveryResult:
        url = settings.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme != "https" or not parts.hostname:
            raise PermanentDeliveryError(
                f"the ariba channel needs an https:// url, not {url!r}", raw_code="SETTINGS"
            )
        try:
            port = parts.port or 443
        except ValueError:
            raise PermanentDeliveryError(
                f"the ariba url {url!r} has an invalid port", raw_code="SETTINGS"
            ) from None
        document = self._document(documents)
        body = document.content
        evidence = mask_secret(body)
        payload = _payload_id(body)
        ca_file = settings.get("ca_file") or self.ca_file
        timeout = float(settings.get("timeout") or self.timeout)
        key: _Key = (parts.hostname, port, ca_file if isinstance(ca_file, str) else None)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.hostname if port == 443 else f"{parts.hostname}:{port}"
        where = f"{parts.hostname}:{port}"
        try:
            status, reason, received = self._post(key, path, body, host_header, timeout)
        except DeliveryError as exc:
            exc.sent = evidence
            raise
        except ssl.SSLCertVerificationError as exc:
            raise PermanentDeliveryError(
                f"the TLS certificate of {where} does not verify: {exc.verify_message or exc.reason}",
                raw_code="TLS_CERTIFICATE",
                sent=evidence,
            ) from None
        except TimeoutError:
            raise TransientDeliveryError(
                f"no answer from {where} within {timeout:g} s", raw_code="TIMEOUT", sent=evidence
            ) from None
        except ssl.SSLError as exc:
            raise TransientDeliveryError(
                f"TLS with {where} failed: {exc.reason or exc}", raw_code="TLS", sent=evidence
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            reason_text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise TransientDeliveryError(
                f"cannot reach {where}: {reason_text}", raw_code="CONNECTION", sent=evidence
            ) from None
        return self._outcome(status, reason, received, evidence, payload, where)

    @staticmethod
    def _status(received: bytes) -> tuple[int, str, str] | None:
        """``(code, text, detail)`` of the answer's ``Response/Status``, or None if unreadable."""
        if not received.strip():
            return None
        try:
            root = parse_cxml(received, max_bytes=MAX_RESPONSE)
        except ParseError:
            return None
        status = root.find("Response/Status")
        if root.tag != "cXML" or status is None:
            return None
        code = (status.get("code") or "").strip()
        if not code.isdigit():
            return None
        detail = " ".join(_all_text(status).split())
        return int(code), (status.get("text") or "").strip(), detail

    @staticmethod
    def _outcome(
        http_status: int, reason: str, received: bytes, sent: bytes, payload: str | None, where: str
    ) -> DeliveryResult:
        answer = AribaConnector._status(received)
        if answer is None:
            raw = f"HTTP {http_status}"
            message = f"{where} answered HTTP {http_status} {reason} without a cXML Response"
            if 200 <= http_status < 300:
                raise TransientDeliveryError(
                    message + "; the invoice is not known to be received",
                    raw_code=raw,
                    sent=sent,
                    received=received,
                )
            if http_status >= 500 or http_status in (408, 425, 429):
                raise TransientDeliveryError(message, raw_code=raw, sent=sent, received=received)
            raise PermanentDeliveryError(message, raw_code=raw, sent=sent, received=received)
        code, text, detail = answer
        said = f"cXML status {code} {text}".rstrip() + (f": {detail}" if detail else "")
        details: dict[str, Any] = {"http_status": http_status, "cxml_status": code, "cxml_text": text}
        if code == 200:
            return DeliveryResult("delivered", payload, str(code), sent, received, details)
        if 200 <= code < 300:
            return DeliveryResult("accepted", payload, str(code), sent, received, details)
        if 400 <= code < 500:
            raise PermanentDeliveryError(
                f"Ariba refused the invoice: {said}", raw_code=str(code), sent=sent, received=received
            )
        if code >= 500:
            raise TransientDeliveryError(
                f"Ariba could not take the invoice now: {said}",
                raw_code=str(code),
                sent=sent,
                received=received,
            )
        raise PermanentDeliveryError(
            f"Ariba answered an unexpected {said}", raw_code=str(code), sent=sent, received=received
        )
