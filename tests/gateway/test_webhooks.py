"""Standard Webhooks signing and the outbox sender, against a loopback HTTP receiver."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import os
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway import logging as gwlog
from gateway import webhooks
from gateway.secretbox import SecretBox
from gateway.store import repository
from gateway.store.models import Invoice, Webhook, WebhookMessage, utcnow
from gateway.store.testing import migrated_store

# The reference library's published vector (standard-webhooks, libraries/python tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


# -- signing -------------------------------------------------------------------------------


def test_sign_matches_the_reference_vector():
    assert webhooks.sign(VECTOR_ID, VECTOR_TS, VECTOR_BODY, VECTOR_SECRET) == VECTOR_SIGNATURE
    # and the same by hand, from the spec's definition
    key = base64.b64decode(VECTOR_SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{VECTOR_ID}.{VECTOR_TS}.{VECTOR_BODY}".encode(), hashlib.sha256).digest()
    assert "v1," + base64.b64encode(mac).decode() == VECTOR_SIGNATURE


def _vector_headers(**override):
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TS),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    headers.update(override)
    return headers


def test_verify_accepts_the_vector_within_tolerance_and_is_case_insensitive():
    webhooks.verify(VECTOR_BODY, _vector_headers(), VECTOR_SECRET, now=VECTOR_TS + 299)
    upper = {k.title(): v for k, v in _vector_headers().items()}
    webhooks.verify(VECTOR_BODY.encode(), upper, VECTOR_SECRET.removeprefix("whsec_"), now=VECTOR_TS)


@pytest.mark.parametrize(
    ("body", "headers", "now", "message"),
    [
        ('{"test": 2432232315}', _vector_headers(), VECTOR_TS, "no v1 signature matches"),
        (VECTOR_BODY, _vector_headers(), VECTOR_TS + 301, "away from now"),
        (VECTOR_BODY, _vector_headers(), VECTOR_TS - 301, "away from now"),
        (VECTOR_BODY, _vector_headers(**{"webhook-id": "msg_other"}), VECTOR_TS, "no v1 signature"),
        (VECTOR_BODY, _vector_headers(**{"webhook-timestamp": "soon"}), VECTOR_TS, "not an integer"),
        (VECTOR_BODY, _vector_headers(**{"webhook-signature": ""}), VECTOR_TS, "missing header"),
        (
            VECTOR_BODY,
            _vector_headers(**{"webhook-signature": "v2," + VECTOR_SIGNATURE[3:]}),
            VECTOR_TS,
            "no v1",
        ),
    ],
)
def test_verify_rejects(body, headers, now, message):
    with pytest.raises(webhooks.WebhookVerificationError, match=message):
        webhooks.verify(body, headers, VECTOR_SECRET, now=now)


def test_verify_rejects_a_wrong_secret_and_accepts_any_signature_of_a_rotation():
    other = webhooks.generate_secret()
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(VECTOR_BODY, _vector_headers(), other, now=VECTOR_TS)
    rotated = webhooks.headers_for(VECTOR_ID, VECTOR_TS, VECTOR_BODY, [other, VECTOR_SECRET])
    assert rotated["webhook-signature"].count("v1,") == 2
    webhooks.verify(VECTOR_BODY, rotated, VECTOR_SECRET, now=VECTOR_TS)
    webhooks.verify(VECTOR_BODY, rotated, other, now=VECTOR_TS)


def test_generated_secrets_follow_the_spec_format():
    secret = webhooks.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert secret != webhooks.generate_secret()
    with pytest.raises(ValueError, match="24 to 64"):
        webhooks.generate_secret(16)


def test_ids_with_a_dot_are_refused():
    # "{id}.{ts}.{body}" would otherwise be ambiguous
    with pytest.raises(ValueError, match=r"no '\.'"):
        webhooks.sign("msg.1", VECTOR_TS, "{}", VECTOR_SECRET)


def test_backoff_is_exponential_with_jitter_between_5_seconds_and_1_hour():
    import random

    rng = random.Random(7)
    for attempt in range(1, 30):
        ceiling = min(3600.0, 5.0 * 2 ** (attempt - 1))
        delays = [webhooks.backoff_seconds(attempt, rng=rng) for _ in range(50)]
        assert all(max(5.0, ceiling / 2) <= d <= ceiling for d in delays)
    assert len({round(webhooks.backoff_seconds(6, rng=rng), 3) for _ in range(20)}) > 10


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "https://user:pw@example.com/"]
)
def test_check_url_refuses(url):
    with pytest.raises(webhooks.WebhookUrlError):
        webhooks.check_url(url)


# -- the outbox sender ---------------------------------------------------------------------


class Receiver:
    """A loopback HTTP server answering from a script of status codes (then 200)."""

    def __init__(self, script=(), delay=0.0):
        self.script = list(script)
        self.delay = delay
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "/elsewhere")
                payload = b"nope" if status >= 300 else b"ok"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(OSError):  # a client that timed out has gone
                    self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/erp"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def box():
    return SecretBox(os.urandom(32))


@pytest.fixture
def store(tmp_path):
    with migrated_store("sqlite", tmp_path) as st:
        yield st


@pytest.fixture
def logs():
    buf = io.StringIO()
    gwlog.configure(json=True, stream=buf)
    yield buf
    gwlog.configure(json=True)


def _setup(store, box, url, events=1):
    """A tenant with one webhook and ``events`` status events (so as many outbox rows)."""
    with store.session() as s:
        tenant, _ = repository.create_tenant(s, "acme")
        hook, secret = repository.create_webhook(s, tenant.id, url, box)
        invoice = Invoice(
            tenant_id=tenant.id, request_sha256="0" * 64, number="F-1", source_kind="json", status="queued"
        )
        s.add(invoice)
        s.flush()
        statuses = ["accepted", "validating", "ready", "queued"][:events]
        previous = None
        for status in statuses:
            repository.append_event(
                s,
                tenant_id=tenant.id,
                invoice_id=invoice.id,
                delivery_id=None,
                axis="transport",
                status=status,
                previous=previous,
                source="pipeline",
            )
            previous = status
        return tenant.id, hook.id, secret


def _messages(store):
    with store.session() as s:
        return {m.id: m for m in s.query(WebhookMessage).order_by(WebhookMessage.event_id)}


def test_sends_signed_json_with_standard_headers(store, box):
    with Receiver() as rx:
        _, _, secret = _setup(store, box, rx.url, events=2)
        summary = webhooks.send_due_webhooks(store, box)
    assert (summary.sent, summary.retrying, summary.failed) == (2, 0, 0)
    messages = _messages(store)
    assert all(m.status == "sent" and m.attempts == 1 for m in messages.values())
    assert sorted(h["webhook-id"] for _, h, _ in rx.requests) == sorted(messages)
    for path, headers, body in rx.requests:
        assert path == "/hooks/erp"
        assert headers["content-type"] == "application/json"
        webhooks.verify(body, headers, secret)  # authentic and fresh
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
        payload = json.loads(body)
        assert payload == messages[headers["webhook-id"]].payload
        assert payload["type"] == "invoice.status_changed"
    # nothing is due any more: a second run sends nothing
    assert webhooks.send_due_webhooks(store, box).message_ids == []


def test_a_500_is_retried_later_with_the_same_id_and_body_then_succeeds(store, box):
    with Receiver(script=[500]) as rx:
        _, _, secret = _setup(store, box, rx.url)
        first = webhooks.send_due_webhooks(store, box)
        assert (first.sent, first.retrying) == (0, 1)
        (msg,) = _messages(store).values()
        assert msg.status == "pending"
        assert msg.attempts == 1
        assert msg.last_error.startswith("HTTP 500")
        wait = (msg.next_attempt_at - utcnow()).total_seconds()
        assert 2.5 <= wait <= 5.5  # 5 s after the first failure (jittered), not at once
        assert webhooks.send_due_webhooks(store, box).message_ids == []  # not due yet
        later = utcnow() + timedelta(seconds=6)
        second = webhooks.send_due_webhooks(store, box, now=later)
    assert second.sent == 1
    (msg,) = _messages(store).values()
    assert (msg.status, msg.attempts, msg.last_error) == ("sent", 2, None)
    (_, h1, b1), (_, h2, b2) = rx.requests
    assert h1["webhook-id"] == h2["webhook-id"] == msg.id
    assert b1 == b2
    webhooks.verify(b2, h2, secret, now=later.timestamp())


def test_gives_up_after_max_attempts(store, box):
    with Receiver(script=[500, 503, 502, 500]) as rx:
        _setup(store, box, rx.url)
        when = utcnow()
        for _ in range(3):
            webhooks.send_due_webhooks(store, box, now=when, max_attempts=3)
            when += timedelta(hours=2)
        assert webhooks.send_due_webhooks(store, box, now=when, max_attempts=3).message_ids == []
    (msg,) = _messages(store).values()
    assert (msg.status, msg.attempts) == ("failed", 3)
    assert msg.last_error.startswith("HTTP 502")
    assert len(rx.requests) == 3


def test_redirects_are_not_followed(store, box):
    with Receiver(script=[302]) as rx:
        _setup(store, box, rx.url)
        summary = webhooks.send_due_webhooks(store, box)
    assert summary.retrying == 1
    assert [path for path, _, _ in rx.requests] == ["/hooks/erp"]  # never /elsewhere


def test_410_gone_fails_the_message_and_disables_the_endpoint(store, box):
    with Receiver(script=[410]) as rx:
        _, hook_id, _ = _setup(store, box, rx.url)
        summary = webhooks.send_due_webhooks(store, box)
    assert summary.failed == 1
    with store.session() as s:
        assert s.get(Webhook, hook_id).active is False


def test_a_slow_receiver_times_out_and_is_retried(store, box):
    with Receiver(delay=1.5) as rx:
        _setup(store, box, rx.url)
        started = time.monotonic()
        summary = webhooks.send_due_webhooks(store, box, client_timeout=0.3)
        elapsed = time.monotonic() - started
    assert summary.retrying == 1
    assert elapsed < 1.4
    (msg,) = _messages(store).values()
    assert "timed out" in msg.last_error


def test_an_unreachable_endpoint_is_retried(store, box):
    with Receiver() as rx:
        url = rx.url  # the port is closed after the block
    _setup(store, box, url)
    summary = webhooks.send_due_webhooks(store, box, client_timeout=2)
    assert summary.retrying == 1
    (msg,) = _messages(store).values()
    assert "ConnectionRefused" in msg.last_error


def test_a_url_the_sender_refuses_fails_at_once(store, box):
    _, hook_id, _ = _setup(store, box, "https://erp.example/hooks")
    with store.session() as s:  # a row from before the API validated URLs, or edited by hand
        s.get(Webhook, hook_id).url = "ftp://erp.example/hooks"
    summary = webhooks.send_due_webhooks(store, box)
    assert summary.failed == 1
    (msg,) = _messages(store).values()
    assert "http or https" in msg.last_error


def test_claimed_messages_are_not_sent_twice_by_concurrent_senders(store, box):
    with Receiver(delay=0.5) as rx:
        _setup(store, box, rx.url, events=3)
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(webhooks.send_due_webhooks(store, box)))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
    assert sum(r.sent for r in results) == 3
    assert len(rx.requests) == 3


def test_secrets_never_reach_the_logs_or_the_stored_errors(store, box, logs):
    with Receiver(script=[500]) as rx:
        _, _, secret = _setup(store, box, rx.url)
        webhooks.send_due_webhooks(store, box)
        webhooks.send_due_webhooks(store, box, now=utcnow() + timedelta(seconds=6))
    text = logs.getvalue()
    events = [json.loads(line)["event"] for line in text.splitlines()]
    assert events == ["webhook.retrying", "webhook.sent"]
    key_b64 = secret.removeprefix("whsec_")
    assert key_b64 not in text
    assert key_b64[:12] not in text
    signatures = [h["webhook-signature"] for _, h, _ in rx.requests]
    assert all(sig.split(",", 1)[1] not in text for sig in signatures)
    (msg,) = _messages(store).values()
    assert key_b64 not in json.dumps(msg.payload)
