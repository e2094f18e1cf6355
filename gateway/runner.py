"""The in-process delivery executor: what ``gateway serve`` runs on SQLite instead of a job queue.

A polling thread finds the due deliveries (``queued``, or ``retrying`` whose
``next_attempt_at`` has come) and hands each to a small thread pool running
``gateway.delivery.run_delivery``, the same function the procrastinate tasks call on
PostgreSQL. Nothing is held in memory that the database does not also say: a process
killed mid-send leaves the delivery ``sending``, and the next runner (this one after a
restart, or another) finds it older than ``stall_timeout`` and puts it back to ``queued``
with an event saying so. The connector's deterministic names make the repeated send
recognisable.

Every wait is bounded: ``stop()`` wakes the poller at once and joins it and the pool
within its timeout; ``wake()`` lets the API start a fresh submission without waiting for
the next poll.

A delivery whose server is at its concurrency limit (``run_delivery`` returned
``throttled``, see ``gateway.limits``) is held back for a short jittered delay
(``throttle_delay``: 0.2–1.0 s) and then tried again; an attempt that finishes for real may
have freed a slot, so it ends every hold at once. Held-back deliveries do not count against
the polling window, so deliveries to other servers are not stuck behind them.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Integer, Table, and_, bindparam, or_, select

from connectors.base import Connector
from gateway.delivery import THROTTLED, run_delivery, update_invoice_status
from gateway.lifecycle import TransportStatus
from gateway.limits import throttle_delay
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.models import Delivery, utcnow

__all__ = ["DEFAULT_STALL_TIMEOUT", "InProcessRunner", "due_deliveries", "recover_stalled", "run_due_once"]

log = logging.getLogger(__name__)

T = TransportStatus
DEFAULT_STALL_TIMEOUT = 300.0
"""Seconds a delivery may stay ``sending`` before it counts as abandoned by a dead worker.
Longer than any connector's own timeouts, so a slow send is never run twice at once."""


_DELIVERIES = cast(Table, Delivery.__table__).c
# built once, a Core statement: the runner asks after every finished attempt
_DUE = (
    select(_DELIVERIES.id)
    .where(
        or_(
            _DELIVERIES.status == T.QUEUED.value,
            and_(
                _DELIVERIES.status == T.RETRYING.value,
                _DELIVERIES.next_attempt_at <= bindparam("now", type_=_DELIVERIES.next_attempt_at.type),
            ),
        )
    )
    .order_by(_DELIVERIES.next_attempt_at, _DELIVERIES.created_at)
    .limit(bindparam("limit", type_=Integer))
)


def due_deliveries(store: Store, *, now: datetime | None = None, limit: int = 100) -> list[str]:
    """Ids of the deliveries to attempt now, oldest due first."""
    moment = now or utcnow()
    with store.session() as s:
        return list(s.scalars(_DUE, {"now": moment, "limit": limit}))


def recover_stalled(
    store: Store, *, stall_timeout: float = DEFAULT_STALL_TIMEOUT, now: datetime | None = None
) -> list[str]:
    """``sending`` deliveries untouched for ``stall_timeout`` seconds → ``queued``; their ids."""
    moment = now or utcnow()
    cutoff = moment - timedelta(seconds=stall_timeout)
    recovered: list[str] = []
    with store.session() as s:
        stalled = s.scalars(
            select(Delivery)
            .where(Delivery.status == T.SENDING.value, Delivery.updated_at < cutoff)
            .limit(100)
        ).all()
        for d in stalled:
            try:
                with s.begin_nested():
                    d.status = T.QUEUED.value
                    d.next_attempt_at = moment
                    d.updated_at = moment
            except Exception:  # another runner recovered (or finished) it first
                log.info("delivery %s: stalled recovery lost a race", d.id)
                continue
            repository.append_event(
                s,
                tenant_id=d.tenant_id,
                invoice_id=d.invoice_id,
                delivery_id=d.id,
                axis="transport",
                status=T.QUEUED.value,
                previous=T.SENDING.value,
                source="runner",
                reason=f"recovered after a stalled attempt (no progress for {stall_timeout:g} s)",
                attempt=d.attempts,
            )
            update_invoice_status(s, d.invoice_id)
            recovered.append(d.id)
    for delivery_id in recovered:
        log.warning("delivery %s: recovered after a stalled attempt", delivery_id)
    return recovered


def run_due_once(
    store: Store,
    connectors: Mapping[str, Connector],
    box: SecretBox,
    *,
    now: Callable[[], datetime] = utcnow,
    limit: int = 100,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
) -> dict[str, str]:
    """One pass in the calling thread (tests, the CLI): recover, then attempt every due delivery."""
    recover_stalled(store, stall_timeout=stall_timeout, now=now())
    return {
        delivery_id: run_delivery(store, delivery_id, connectors=connectors, box=box, now=now)
        for delivery_id in due_deliveries(store, now=now(), limit=limit)
    }


def close_connectors(connectors: Mapping[str, Connector]) -> None:
    """Close the connectors' pooled connections (SFTP, SMTP, HTTPS) at shutdown."""
    for connector in connectors.values():
        close = getattr(connector, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:  # shutting down: note it and go on
                log.warning("closing the %s connector: %s", type(connector).__name__, type(exc).__name__)


class WebhookPump:
    """Sends the due status webhooks every ``interval`` seconds in a background thread.

    The SQLite executor's counterpart of the periodic webhook task on PostgreSQL workers.
    """

    def __init__(self, store: Store, box: SecretBox, *, interval: float = 2.0) -> None:
        self.store = store
        self.box = box
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookPump:
        self._thread = threading.Thread(target=self._loop, name="gateway-webhooks", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        from gateway.webhooks import send_due_webhooks

        while not self._stop.wait(self.interval):
            try:
                send_due_webhooks(self.store, self.box)
            except Exception as exc:  # keep pumping: the next round retries what is due
                log.error("webhook pump: %s", type(exc).__name__)

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


class InProcessRunner:
    """Background delivery executor for one process; ``start()`` / ``stop()``."""

    def __init__(
        self,
        store: Store,
        connectors: Mapping[str, Connector],
        box: SecretBox,
        *,
        poll_interval: float = 0.5,
        concurrency: int = 4,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.store = store
        self.connectors = connectors
        self.box = box
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.stall_timeout = stall_timeout
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: set[str] = set()
        self._futures: set[Future[str]] = set()
        self._held: dict[str, float] = {}  # throttled delivery → monotonic time to try it again
        self._lock = threading.Lock()
        self.attempted = 0  # attempts started, for tests and metrics
        self.throttled = 0  # attempts that found their server at its limit

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> InProcessRunner:
        if self.running:
            return self
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="gateway-delivery")
        self._thread = threading.Thread(target=self._loop, name="gateway-runner", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Poll now (a submission just queued deliveries)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop polling, let running attempts finish (up to ``timeout``); True if all stopped."""
        self._stop.set()
        self._wake.set()
        stopped = True
        if self._thread is not None:
            self._thread.join(timeout)
            stopped = not self._thread.is_alive()
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            with self._lock:
                pending = list(self._futures)
            if pending:  # let running attempts record their outcome; errors were logged by them
                wait(pending, timeout=max(0.0, timeout))
            stopped = stopped and all(f.done() for f in pending)
            self._pool = None
        close_connectors(self.connectors)
        return stopped

    def __enter__(self) -> InProcessRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _loop(self) -> None:
        last_recovery = 0.0
        while not self._stop.is_set():
            try:
                now = utcnow()
                if now.timestamp() - last_recovery >= min(self.stall_timeout / 4, 30.0):
                    recover_stalled(self.store, stall_timeout=self.stall_timeout, now=now)
                    last_recovery = now.timestamp()
                free = self.concurrency * 2 - len(self._in_flight)
                if free > 0:
                    with self._lock:
                        skip = len(self._in_flight) + len(self._held)
                    for delivery_id in due_deliveries(self.store, now=now, limit=free + skip):
                        if free <= 0:
                            break
                        if self._dispatch(delivery_id):
                            free -= 1
                self._forget_expired_holds()
            except Exception:  # a database hiccup must not kill the runner
                log.exception("delivery runner: polling failed; trying again")
            self._wake.wait(self._next_wait())
            self._wake.clear()

    def _forget_expired_holds(self) -> None:
        """A hold that has run out is done with: its delivery was tried again just now, or is no
        longer due (canceled, taken by another runner) and must not keep the poller awake."""
        moment = time.monotonic()
        with self._lock:
            for delivery_id in [d for d, until in self._held.items() if until <= moment]:
                del self._held[delivery_id]

    def _next_wait(self) -> float:
        """The poll interval, or less when a held-back delivery is due to be tried sooner."""
        with self._lock:
            if not self._held:
                return self.poll_interval
            soonest = min(self._held.values()) - time.monotonic()
        return min(self.poll_interval, max(soonest, 0.01))

    def _dispatch(self, delivery_id: str) -> bool:
        """Start an attempt unless one is running or the delivery is held back; True if started."""
        with self._lock:
            if delivery_id in self._in_flight or self._pool is None or self._stop.is_set():
                return False
            until = self._held.get(delivery_id)
            if until is not None:
                if until > time.monotonic():
                    return False
                del self._held[delivery_id]
            self._in_flight.add(delivery_id)
        future = self._pool.submit(self._attempt, delivery_id)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(functools.partial(self._done, delivery_id))
        return True

    def _attempt(self, delivery_id: str) -> str:
        with self._lock:
            self.attempted += 1
        try:
            return run_delivery(self.store, delivery_id, connectors=self.connectors, box=self.box)
        except Exception:
            log.exception("delivery %s: attempt failed unexpectedly", delivery_id)
            raise

    def _done(self, delivery_id: str, future: Future[str]) -> None:
        finished = not future.cancelled() and future.exception() is None
        throttled = finished and future.result() == THROTTLED
        with self._lock:
            self._in_flight.discard(delivery_id)
            self._futures.discard(future)
            if throttled:  # its server is full: try again shortly, not at once (no busy loop)
                self.throttled += 1
                self._held[delivery_id] = time.monotonic() + throttle_delay()
            elif finished:
                self._held.clear()  # this attempt released its slot: the held-back may go now
        if finished and not throttled:
            self._wake.set()  # a finished attempt may have freed capacity for more
