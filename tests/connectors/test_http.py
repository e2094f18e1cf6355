"""The http push channel against a real loopback HTTP(S) server (ThreadingHTTPServer)."""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connectors.base import OutgoingDocument, PermanentDeliveryError, TransientDeliveryError
from connectors.http import HttpConnector, signature
from gateway.webhooks import generate_secret, verify
from tests.connectors.smtpd import server_context, tls_material

PDF = OutgoingDocument("INV-7.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 4, "application/pdf", "facturx")
XML = OutgoingDocument("INV-7.xml", b"<Invoice>7</Invoice>", "application/xml", "cii")
TOKEN = "tok-123"  # a test server's token, nothing real


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    seen: list[Seen] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 10_000_000))
        self.server.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        path = self.path.split("?")[0]
        if path == "/slow":
            time.sleep(1.5)
        if path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            self.send_response(status)
            if status in (301, 302, 307, 308):
                self.send_header("Location", "https://elsewhere.example/in")
            if status in (429, 503):
                self.send_header("Retry-After", "120")
            payload = f"status {status}".encode()
        elif path == "/big":
            self.send_response(200)
            payload = b"x" * 1_500_000
        else:
            self.send_response(201 if path == "/created" else 200)
            self.send_header("Location", "/documents/42")
            payload = b'{"ok":true}'
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextlib.contextmanager
def receiver(tls: bool = False) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.timeout = 5
    if tls:
        server.socket = server_context().wrap_socket(server.socket, server_side=True)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        rec = Receiver(f"{scheme}://127.0.0.1:{server.server_address[1]}")
        rec.seen = server.seen  # type: ignore[attr-defined]
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def http() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


def test_one_document_with_bearer_token_and_idempotency_key(http: Receiver) -> None:
    result = HttpConnector().send(
        [XML],
        {"url": http.url + "/in?tenant=7", "headers": {"X-Tenant": "7", "Content-Type": "text/plain"}},
        {"bearer_token": TOKEN},
        delivery_id="dlv_1",
    )
    seen = http.seen[-1]
    assert seen.path == "/in?tenant=7"
    assert seen.body == XML.content
    assert seen.headers["content-type"] == "application/xml"  # not overridable from settings
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["idempotency-key"] == "dlv_1"
    assert seen.headers["x-tenant"] == "7"
    assert 'filename="INV-7.xml"' in seen.headers["content-disposition"]
    assert result.raw_code == "200"
    assert result.remote_reference == "/documents/42"
    assert result.received.endswith(b'{"ok":true}')
    # the evidence keeps the request but never the credential
    assert TOKEN.encode() not in result.sent
    assert b"Authorization: Bearer ***" in result.sent
    assert result.sent.endswith(XML.content)


def test_basic_auth(http: Receiver) -> None:
    HttpConnector().send(
        [XML], {"url": http.url + "/in", "username": "acme"}, {"basic_password": "pw:1"}, delivery_id="dlv_2"
    )
    scheme, _, token = http.seen[-1].headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token) == b"acme:pw:1"
    with pytest.raises(PermanentDeliveryError, match="needs a 'username'"):
        HttpConnector().send([XML], {"url": http.url + "/in"}, {"basic_password": "pw"}, delivery_id="d")


def test_hmac_signature_verifies_with_the_webhooks_reference(http: Receiver) -> None:
    secret = generate_secret()
    HttpConnector().send([PDF], {"url": http.url + "/in"}, {"hmac_secret": secret}, delivery_id="dlv_3")
    seen = http.seen[-1]
    assert seen.headers["webhook-id"] == "dlv_3"
    verify(seen.body, seen.headers, secret)  # raises if the signature or timestamp is wrong
    with pytest.raises(Exception, match="no v1 signature matches"):
        verify(seen.body + b"x", seen.headers, secret)
    assert "authorization" not in seen.headers


def test_signature_equals_the_gateway_reference() -> None:
    from gateway.webhooks import sign

    secret = generate_secret()
    assert signature("dlv_9", 1_700_000_000, b"body", secret) == sign("dlv_9", 1_700_000_000, b"body", secret)


def test_several_documents_are_one_multipart_mixed(http: Receiver) -> None:
    HttpConnector().send([PDF, XML], {"url": http.url + "/in"}, {}, delivery_id="dlv_4")
    seen = http.seen[-1]
    assert seen.headers["content-type"].startswith("multipart/mixed; boundary=")
    raw = f"Content-Type: {seen.headers['content-type']}\r\n\r\n".encode() + seen.body
    msg = message_from_bytes(raw, policy=policy.HTTP)
    assert isinstance(msg, EmailMessage)
    parts = list(msg.iter_parts())
    assert [(p.get_content_type(), p.get_filename()) for p in parts] == [
        ("application/pdf", "INV-7.pdf"),
        ("application/xml", "INV-7.xml"),
    ]
    assert [p.get_payload(decode=True) for p in parts] == [PDF.content, XML.content]


@pytest.mark.parametrize(
    ("status", "kind", "fragment"),
    [
        (500, TransientDeliveryError, "answered 500"),
        (503, TransientDeliveryError, "Retry-After: 120"),
        (429, TransientDeliveryError, "Retry-After: 120"),
        (408, TransientDeliveryError, "answered 408"),
        (400, PermanentDeliveryError, "answered 400"),
        (401, PermanentDeliveryError, "answered 401"),
        (301, PermanentDeliveryError, "redirect to https://elsewhere.example/in not followed"),
        (307, PermanentDeliveryError, "not followed"),
    ],
)
def test_status_codes_decide(http: Receiver, status: int, kind: type[Exception], fragment: str) -> None:
    before = len(http.seen)
    with pytest.raises(kind, match=fragment.replace(".", r"\.").replace("(", r"\(")) as info:
        HttpConnector().send([XML], {"url": f"{http.url}/status/{status}"}, {}, delivery_id="dlv_5")
    assert len(http.seen) == before + 1  # a redirect is not followed: exactly one request
    error = info.value
    assert isinstance(error, PermanentDeliveryError | TransientDeliveryError)
    assert error.raw_code == str(status)
    assert error.received.startswith(f"HTTP/1.1 {status}".encode())


def test_timeout_is_transient(http: Receiver) -> None:
    with pytest.raises(TransientDeliveryError, match="no answer in time") as info:
        HttpConnector().send([XML], {"url": http.url + "/slow", "timeout": 0.3}, {}, delivery_id="dlv_6")
    assert info.value.raw_code == "TIMEOUT"


def test_server_down_is_transient() -> None:
    with receiver() as rec:
        url = rec.url
    with pytest.raises(TransientDeliveryError, match="connection refused"):
        HttpConnector().send([XML], {"url": url + "/in", "timeout": 2}, {}, delivery_id="dlv_7")


def test_the_answer_kept_as_evidence_is_bounded(http: Receiver) -> None:
    result = HttpConnector().send([XML], {"url": http.url + "/big"}, {}, delivery_id="dlv_8")
    assert b"body truncated to 1000000 bytes" in result.received
    assert len(result.received) < 1_000_000 + 1000


def test_https_with_a_trusted_ca_and_an_untrusted_one() -> None:
    with receiver(tls=True) as rec:
        ok = HttpConnector().send(
            [XML], {"url": rec.url + "/created", "tls_ca_pem": tls_material().ca_pem}, {}, delivery_id="dlv_9"
        )
        assert ok.raw_code == "201"
        with pytest.raises(PermanentDeliveryError, match="does not verify") as info:
            HttpConnector().send(
                [XML],
                {"url": rec.url + "/in", "tls_ca_pem": tls_material().other_ca_pem},
                {},
                delivery_id="d",
            )
        assert info.value.raw_code == "TLS_VERIFY"


@pytest.mark.parametrize(
    ("settings", "secrets", "message"),
    [
        ({}, {}, "no 'url'"),
        ({"url": "http://erp.example.com/in"}, {}, "must use https"),
        ({"url": "ftp://x/"}, {}, "not an absolute https"),
        ({"url": "https://u:p@x.example/"}, {}, "credentials do not belong"),
        ({"url": "http://127.0.0.1:1/"}, {"bearer_token": "a", "basic_password": "b"}, "not both"),
        ({"url": "http://127.0.0.1:1/"}, {"hmac_secret": "not base64!"}, "whsec_"),
        ({"url": "http://127.0.0.1:1/"}, {"bearer_token": "a\r\nX-Evil: 1"}, "line break"),
        ({"url": "http://127.0.0.1:1/", "headers": {"X-A": "1\r\nX-B: 2"}}, {}, "not a valid header"),
    ],
)
def test_settings_mistakes_are_permanent(
    settings: dict[str, Any], secrets: dict[str, str], message: str
) -> None:
    with pytest.raises(PermanentDeliveryError, match=message) as info:
        HttpConnector().send([XML], settings, secrets, delivery_id="dlv_x")
    assert info.value.raw_code == "SETTINGS"


@pytest.mark.parametrize(
    ("settings", "secrets", "message"),
    [
        ({}, {"basic_password": "pw"}, "needs a 'username'"),
        ({}, {"hmac_secret": "whsec_short"}, "hmac_secret"),
        ({"headers": {"Idempotency-Key": "x"}}, {}, "set by the gateway"),
        ({"username": "a:b"}, {}, "must not contain ':'"),
    ],
)
def test_http_channel_model_refuses(settings: dict[str, Any], secrets: dict[str, str], message: str) -> None:
    from pydantic import ValidationError

    from gateway.recipients import HttpChannel

    def channel(settings: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        return {
            "type": "http",
            "name": "erp",
            "settings": {"url": "https://erp.example.com/in", **settings},
            "secrets": secrets,
        }

    HttpChannel.model_validate(channel({"username": "acme"}, {"basic_password": "pw"}))
    HttpChannel.model_validate(channel({}, {"hmac_secret": generate_secret(), "bearer_token": "t"}))
    with pytest.raises(ValidationError, match=message):
        HttpChannel.model_validate(channel(settings, secrets))
