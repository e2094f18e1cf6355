"""Structured logs: JSON lines with context, and no secret material ever rendered."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from gateway import logging as gwlog


@pytest.fixture
def stream():
    buf = io.StringIO()
    gwlog.configure(json=True, stream=buf)
    yield buf
    gwlog.configure(json=True)  # back to stderr for whatever runs next


def _lines(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_json_lines_with_timestamp_level_event_and_bound_context(stream):
    log = gwlog.get_logger("gateway.test")
    with gwlog.log_context(invoice_id="inv_1", delivery_id="dlv_1", tenant_id="ten_1"):
        log.info("delivery.sent", attempt=2)
    log.warning("outside")
    first, second = _lines(stream)
    assert first["event"] == "delivery.sent"
    assert first["level"] == "info"
    assert first["timestamp"].endswith("Z")
    assert (first["invoice_id"], first["delivery_id"], first["tenant_id"]) == ("inv_1", "dlv_1", "ten_1")
    assert first["attempt"] == 2
    # the context ends with the block
    assert second["event"] == "outside"
    assert "invoice_id" not in second


def test_secret_keys_are_dropped_at_any_depth_and_secret_values_masked(stream):
    log = gwlog.get_logger("gateway.test")
    log.info(
        "channel.configured",
        password="hunter2",
        api_key="gw_live_abc",
        Authorization="Bearer xyz",
        settings={"host": "sftp.example", "private_key": "PEMDATA", "nested": [{"token": "t0k"}]},
        idempotency_key="order-42",
        note="secret is whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw here",
    )
    (line,) = _lines(stream)
    text = stream.getvalue()
    for secret in ("hunter2", "gw_live_abc", "Bearer xyz", "PEMDATA", "t0k", "MfKQ9r8GKYqrTwjUPD8ILPZIo2"):
        assert secret not in text
    assert line["settings"] == {"host": "sftp.example", "nested": [{}]}
    assert line["idempotency_key"] == "order-42"  # an identifier, not key material
    assert line["note"] == f"secret is {gwlog.REDACTED} here"


def test_standard_library_loggers_come_out_as_json_and_redacted(stream):
    logging.getLogger("procrastinate.worker").warning("job stalled", extra={"job_id": 7, "secret": "s3"})
    (line,) = _lines(stream)
    assert line["event"] == "job stalled"
    assert line["level"] == "warning"
    assert line["logger"] == "procrastinate.worker"
    assert line["job_id"] == 7
    assert "secret" not in line


def test_exceptions_are_rendered_inside_the_json_line(stream):
    log = gwlog.get_logger("gateway.test")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("unexpected")
    (line,) = _lines(stream)
    assert line["level"] == "error"
    assert "RuntimeError: boom" in line["exception"]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("smtp_passwd", True),
        ("client_secret", True),
        ("access_token", True),
        ("key", True),
        ("master_key", True),
        ("private_key_pem", True),
        ("idempotency_key", False),
        ("invoice_id", False),
        ("keyword", False),
        ("monkey", False),
    ],
)
def test_secret_names(name, secret):
    assert gwlog.is_secret_key(name) is secret
