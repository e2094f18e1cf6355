"""Prometheus exposition: process counters and histograms, and store counts at scrape time."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway import metrics
from gateway.store.models import Delivery, Invoice, Tenant
from gateway.store.testing import migrated_store


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _value(text: bytes, name: str, **labels: str) -> float | None:
    return _samples(text).get((name, tuple(sorted(labels.items()))))


def test_render_has_the_process_series_with_their_increments():
    before, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    base_count = _value(before, "gateway_deliveries_total", channel="folder", outcome="delivered") or 0.0
    base_hist = _value(before, "gateway_validation_seconds_count") or 0.0

    metrics.record_delivery("folder", "delivered", 0.03)
    metrics.record_delivery("folder", "delivered", 0.2)
    metrics.record_delivery("sftp", "retrying", 1.5)
    metrics.observe_validation(0.04)

    after, _ = metrics.render()
    assert _value(after, "gateway_deliveries_total", channel="folder", outcome="delivered") == base_count + 2
    assert (_value(after, "gateway_deliveries_total", channel="sftp", outcome="retrying") or 0) >= 1
    assert _value(after, "gateway_validation_seconds_count") == base_hist + 1
    assert (_value(after, "gateway_validation_seconds_bucket", le="0.05") or 0) >= 1
    assert (_value(after, "gateway_delivery_seconds_bucket", channel="sftp", le="2.5") or 0) >= 1
    # a registry of our own: no python_gc_*/process_* series from the global default registry
    assert b"python_gc_objects_collected_total" not in after


def _seed(store) -> None:
    with store.session() as s:
        tenant = Tenant(name="acme")
        s.add(tenant)
        s.flush()
        for i, (inv_status, channel, dlv_status) in enumerate(
            [
                ("queued", "folder", "queued"),
                ("delivered", "folder", "delivered"),
                ("delivered", "sftp", "delivered"),
            ]
        ):
            inv = Invoice(
                tenant_id=tenant.id,
                request_sha256="0" * 64,
                number=f"F-{i}",
                source_kind="json",
                status=inv_status,
            )
            s.add(inv)
            s.flush()
            s.add(
                Delivery(
                    tenant_id=tenant.id,
                    invoice_id=inv.id,
                    channel_type=channel,
                    channel_name=channel,
                    status=dlv_status,
                    payload_id=f"p-{i}",
                )
            )


def test_store_counts_are_queried_at_scrape_time(tmp_path):
    with migrated_store("sqlite", tmp_path) as store:
        metrics.bind_store(store)
        try:
            text, _ = metrics.render()
            assert _value(text, "gateway_store_up") == 1
            assert _value(text, "gateway_invoices", status="delivered") in (None, 0)
            _seed(store)
            text, _ = metrics.render()
            assert _value(text, "gateway_invoices", status="delivered") == 2
            assert _value(text, "gateway_invoices", status="queued") == 1
            assert _value(text, "gateway_deliveries_current", channel="folder", status="queued") == 1
            assert _value(text, "gateway_deliveries_current", channel="sftp", status="delivered") == 1
        finally:
            metrics.unbind_store()


def test_a_failing_store_reports_store_up_zero_instead_of_failing_the_scrape(tmp_path):
    from gateway.store import Store

    broken = Store(f"sqlite:///{tmp_path / 'missing-folder' / 'gateway.db'}")  # cannot be opened
    metrics.bind_store(broken)
    try:
        text, _ = metrics.render()
    finally:
        metrics.unbind_store()
        broken.dispose()
    assert _value(text, "gateway_store_up") == 0
    assert b"gateway_deliveries_total" in text  # the process series are still there


def test_worker_endpoint_serves_the_same_registry():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stop = metrics.serve_metrics(port)
    try:
        metrics.record_delivery("email", "failed", 0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            body = resp.read()
    finally:
        stop()
    assert (_value(body, "gateway_deliveries_total", channel="email", outcome="failed") or 0) >= 1


@pytest.mark.parametrize("seconds", [-1.0, 0.0])
def test_negative_durations_are_clamped(seconds):
    metrics.observe_validation(seconds)  # a clock step backwards must not corrupt the histogram sum
    text, _ = metrics.render()
    assert (_value(text, "gateway_validation_seconds_sum") or 0) >= 0
