"""Prometheus metrics of the gateway, in a registry of its own.

Two kinds of series, because the gateway runs as several processes (``gateway serve`` and
any number of ``gateway worker`` on PostgreSQL):

* what the store says, queried at scrape time (``gateway_invoices{status}``,
  ``gateway_deliveries{channel,status}``): the same fleet-wide answer from whichever process
  is scraped, and right after a restart;
* what this process did (``gateway_deliveries_total{channel,outcome}``, the validation and
  delivery latency histograms): counters and histograms live in the process that observed
  them, so each worker exposes its own (``serve_metrics(port)``) and Prometheus sums them.

The registry is not prometheus_client's global one: tests and embedders get exactly these
series, and importing the module twice (the CLI and the API in one process) cannot raise
"duplicated timeseries".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from gateway.logging import get_logger

if TYPE_CHECKING:
    from gateway.store import Store

__all__ = [
    "REGISTRY",
    "StoreCollector",
    "bind_store",
    "observe_validation",
    "record_delivery",
    "record_throttled",
    "render",
    "serve_metrics",
]

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "gateway_deliveries",
    "Delivery attempts finished by this process, by channel type and outcome "
    "(delivered, accepted, retrying, failed, …).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
THROTTLED = Counter(
    "gateway_delivery_throttled",
    "Delivery attempts not started by this process because their server's concurrency limit "
    "(max_connections) was reached; each is tried again shortly.",
    ["channel"],
    registry=REGISTRY,
)
VALIDATION_SECONDS = Histogram(
    "gateway_validation_seconds",
    "Time to validate one rendered document (XSD + Schematron).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
DELIVERY_SECONDS = Histogram(
    "gateway_delivery_seconds",
    "Time of one delivery attempt (connector send and its bookkeeping), by channel type.",
    ["channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)

_log = get_logger("gateway.metrics")


def record_delivery(channel: str, outcome: str, seconds: float) -> None:
    """One finished attempt: ``outcome`` is the delivery's status after it (``delivered``…)."""
    DELIVERIES.labels(channel=channel, outcome=outcome).inc()
    DELIVERY_SECONDS.labels(channel=channel).observe(max(seconds, 0.0))


def record_throttled(channel: str) -> None:
    """An attempt that found its server at its limit (``run_delivery`` returned ``throttled``)."""
    THROTTLED.labels(channel=channel).inc()


def observe_validation(seconds: float) -> None:
    VALIDATION_SECONDS.observe(max(seconds, 0.0))


class StoreCollector(Collector):
    """Counts from the store, queried when Prometheus scrapes.

    A failing query must not turn the whole scrape into an error (Prometheus would then lose
    the process counters too): it reports ``gateway_store_up 0`` instead and logs why.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "gateway_invoices", "Invoices by status (the store's count).", labels=["status"]
            ),
            GaugeMetricFamily(
                "gateway_deliveries_current",
                "Deliveries by channel type and current transport status (the store's count).",
                labels=["channel", "status"],
            ),
            GaugeMetricFamily("gateway_store_up", "1 when the store answered the metrics queries."),
        )

    def describe(self) -> list[Metric]:
        # Declared so registration does not call collect() (a query at registration time).
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        from gateway.store.repository import delivery_counts, invoice_counts_by_status

        invoices, deliveries, up = self._families()
        try:
            with self.store.session() as s:
                by_status = invoice_counts_by_status(s)
                by_channel = delivery_counts(s)
        except Exception as exc:  # any store failure: report it as a series, not a 500
            _log.warning("metrics.store_unavailable", error=f"{type(exc).__name__}: {exc}")
            up.add_metric([], 0)
            yield up
            return
        for status, n in sorted(by_status.items()):
            invoices.add_metric([status], n)
        for (channel, status), n in sorted(by_channel.items()):
            deliveries.add_metric([channel, status], n)
        up.add_metric([], 1)
        yield invoices
        yield deliveries
        yield up


_bound: dict[str, Collector] = {}
_bind_lock = threading.Lock()


def bind_store(store: Store) -> None:
    """Report the store's counts from now on (replacing a store bound before)."""
    with _bind_lock:
        old = _bound.pop("store", None)
        if old is not None:
            REGISTRY.unregister(old)
        collector = StoreCollector(store)
        REGISTRY.register(collector)
        _bound["store"] = collector


def unbind_store() -> None:
    with _bind_lock:
        old = _bound.pop("store", None)
        if old is not None:
            REGISTRY.unregister(old)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type, for ``GET /metrics``."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_metrics(port: int, addr: str = "127.0.0.1") -> Callable[[], Any]:
    """Expose this registry on ``http://addr:port/metrics`` (a worker has no API); returns a
    function that stops the server."""
    server, thread = start_http_server(port, addr=addr, registry=REGISTRY)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
