"""Deliveries as procrastinate jobs on PostgreSQL: ``gateway worker`` processes on any number of machines.

What a delivery does is ``gateway.delivery.run_delivery``, the same function the in-process
runner calls on SQLite; this module only decides *when* it runs and makes sure that nothing
accepted is ever left without a job (see ``../shared/docs/jobs.md`` for the measurements
behind each choice):

* **Same transaction.** ``defer_delivery(session, delivery_id)`` inserts the job through the
  raw psycopg connection under the caller's SQLAlchemy session: the delivery row and its job
  commit or roll back together. The insert runs inside a savepoint, because catching
  ``AlreadyEnqueued`` (``queueing_lock=delivery_id``: one pending job per delivery) inside a
  shared transaction without one silently lost the caller's rows.
* **Backoff is the delivery's.** ``run_delivery`` records ``retrying`` with its own
  ``next_attempt_at``; the task then defers the next attempt with ``schedule_at``. The
  procrastinate retry strategy only covers unexpected errors (the database going away).
* **Reconciler** (periodic, every ``RECONCILE_EVERY`` s, one at a time via a queueing lock):
  a delivery ``queued`` or due ``retrying`` without a pending job (a crash between a commit
  and a defer, a job that failed on an unexpected error) gets one again; a ``sending``
  delivery without a running job for ``ABANDONED_AFTER`` s goes back to ``queued``.
* **Killed workers.** procrastinate leaves a SIGKILLed worker's job in ``doing`` forever. The
  workers heartbeat every ``HEARTBEAT_INTERVAL`` s; the reconciler takes the jobs of workers
  silent for ``STALLED_AFTER`` s, puts their deliveries back from ``sending`` to ``queued``
  (with an event) and retries the jobs. The connectors' deterministic remote names and
  stable payload ids make the repeated send recognisable downstream.
* **Webhooks.** A periodic task sends the due status webhooks (``gateway.webhooks``).

Per-recipient ordering is deliberately *not* a procrastinate ``lock``: a lock runs a
recipient's jobs strictly in FIFO order even behind a job scheduled in the future, so one
delivery in backoff would hold up every later delivery to that recipient (jobs.md). Ordering
guarantees, where a channel needs them, are issue 9's.

A worker runs deliveries in threads (the task is synchronous); keep ``--concurrency`` at 2
or more so the maintenance tasks (reconciler, webhooks) are never stuck behind a slow send.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy, SyncPsycopgConnector
from procrastinate import exceptions as pexc
from procrastinate import jobs as pjobs
from procrastinate.manager import JobManager
from procrastinate.schema import SchemaManager, migrations_path
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gateway.logging import get_logger, log_context
from gateway.store.models import Delivery, utcnow

if TYPE_CHECKING:
    from connectors.base import Connector
    from gateway.secretbox import SecretBox
    from gateway.store import Store

__all__ = [
    "ABANDONED_AFTER",
    "DELIVER_TASK",
    "HEARTBEAT_INTERVAL",
    "RECONCILE_EVERY",
    "STALLED_AFTER",
    "JobsUnavailable",
    "Runtime",
    "app",
    "apply_procrastinate_schema",
    "conninfo",
    "defer_delivery",
    "deliver",
    "drop_procrastinate_schema",
    "orphaned_deliveries",
    "reconcile",
    "reconcile_once",
    "recover_stalled_jobs",
    "redefer_orphans",
    "requeue_abandoned",
    "run_worker",
    "send_webhooks",
    "use_database",
    "worker_options",
]

DATABASE_URL_ENV = "GATEWAY_DATABASE_URL"
DELIVER_TASK = "gateway.deliver"
RECONCILE_TASK = "gateway.reconcile"
WEBHOOKS_TASK = "gateway.send_webhooks"
DELIVERY_QUEUE = "deliveries"
MAINTENANCE_QUEUE = "maintenance"
# Workers take jobs by priority, then id: at 0 the reconciler (and so a killed worker's
# deliveries) waited behind the whole backlog of deliveries queued before it.
MAINTENANCE_PRIORITY = 10
# A delivery that found its server at its limit waits its turn ahead of fresh ones (0) but
# behind the maintenance tasks.
THROTTLED_PRIORITY = 1
THROTTLED_AGEING_MAX = 8  # +1 a second waited, up to 9: still behind the maintenance tasks

HEARTBEAT_INTERVAL = 2.0  # seconds between a worker's heartbeats
STALLED_AFTER = 6.0  # a worker silent this long is dead: its jobs are recovered
RECONCILE_EVERY = 2  # seconds (cron's 6th field)
WEBHOOKS_EVERY = 2  # seconds
POLL_INTERVAL = 1.0  # fallback to LISTEN/NOTIFY; also how soon a scheduled retry is noticed
ABANDONED_AFTER = 300.0  # ``sending`` with no running job this long: the attempt is abandoned
SCHEMA_VERSION = "03.04.00_50_post_add_retry_failed_job_procedure"
"""procrastinate's newest migration file that its bundled ``schema.sql`` already contains."""

_log = get_logger("gateway.jobs")


class JobsUnavailable(RuntimeError):
    """The job queue needs PostgreSQL (SQLite runs deliveries in-process: ``gateway serve``)."""


# -- connection ----------------------------------------------------------------------------


def conninfo(url: str) -> str:
    """libpq's URI for a SQLAlchemy URL (``postgresql+psycopg://…`` → ``postgresql://…``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise JobsUnavailable(
            f"the job queue needs PostgreSQL, not {parsed.get_backend_name()!r}: set {DATABASE_URL_ENV} "
            "to postgresql+psycopg://… (with SQLite, `gateway serve` runs deliveries in-process)"
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _connector(url: str | None = None, *, max_size: int = 4) -> PsycopgConnector:
    kwargs: dict[str, Any] = {"min_size": 1, "max_size": max_size}
    if url is not None:
        kwargs["conninfo"] = conninfo(url)
    return PsycopgConnector(**kwargs)


# The tasks need an app at import time (a worker finds them by name); the real database is
# attached by ``use_database`` before the app is opened. Deferring through
# ``defer_delivery`` never uses this connector: it writes on the caller's connection.
app = App(connector=_connector())


def use_database(url: str, *, max_size: int = 4) -> App:
    """Point the app at ``url`` (a SQLAlchemy or libpq URL) before opening it or running a worker."""
    connector = _connector(url, max_size=max_size)
    app.connector = connector
    app.job_manager.connector = connector
    return app


# -- runtime passed to the tasks -----------------------------------------------------------


@dataclass(frozen=True)
class Runtime:
    """What tasks need, handed to them through the worker's ``additional_context``."""

    store: Store
    box: SecretBox
    connectors: Mapping[str, Connector]


def _runtime(context: JobContext) -> Runtime:
    runtime = (context.additional_context or {}).get("gateway")
    if not isinstance(runtime, Runtime):
        raise RuntimeError("gateway tasks run in `gateway worker` (run_worker), which supplies the store")
    return runtime


# -- deferring -----------------------------------------------------------------------------


def _raw_connection(session: Session) -> Any:
    """The psycopg connection under the session's current transaction (jobs.md)."""
    return session.connection().connection.driver_connection


# Inserts jobs on a connection the caller hands over, never on a pool of its own. The app's
# connector cannot do that everywhere: once a worker (or an async web app) has opened it,
# it is asynchronous and refuses a synchronous connection (jobs.md); this one is always sync.
_IN_TRANSACTION = JobManager(SyncPsycopgConnector())


def defer_delivery(
    session: Session, delivery_id: str, when: datetime | None = None, *, priority: int | None = None
) -> int | None:
    """Queue ``delivery_id`` in the caller's transaction; returns the job id, or ``None`` when a
    pending job already existed (brought forward to ``when`` if that is sooner) or the store
    is SQLite (the in-process runner polls instead: one call site for both databases).

    ``when`` (aware UTC) is the earliest start; ``None`` is now.
    """
    if session.get_bind().dialect.name != "postgresql":
        return None
    try:
        # The savepoint keeps an AlreadyEnqueued (a unique violation in PostgreSQL) from
        # poisoning the caller's transaction: without it, the commit lost the caller's rows.
        # SQLAlchemy emits SAVEPOINT lazily, when the nested transaction first asks for its
        # connection: the raw connection must be taken inside the block, or there is none.
        with session.begin_nested():
            raw = _raw_connection(session)
            job = deliver.configure(queueing_lock=delivery_id, schedule_at=when, priority=priority).job
            job_id = pjobs.JobDeferrer(_IN_TRANSACTION, job, connection=raw).defer(delivery_id=delivery_id)
    except pexc.AlreadyEnqueued:
        with session.begin_nested():
            session.execute(
                text(
                    "UPDATE procrastinate_jobs SET scheduled_at = :at WHERE queueing_lock = :lock "
                    "AND status = 'todo' AND scheduled_at IS NOT NULL AND scheduled_at > :at"
                ),
                {"at": when or utcnow(), "lock": delivery_id},
            )
        return None
    return job_id


# -- tasks ---------------------------------------------------------------------------------

# Unexpected errors only (run_delivery turns every connector outcome into a status): a
# database restart or a bug. Connector backoff is the delivery's own next_attempt_at.
UNEXPECTED_RETRY = RetryStrategy(max_attempts=5, wait=1, exponential_wait=2)


@app.task(name=DELIVER_TASK, queue=DELIVERY_QUEUE, pass_context=True, retry=UNEXPECTED_RETRY)
def deliver(context: JobContext, delivery_id: str) -> str:
    """One attempt at a delivery; a transient failure defers the next attempt at its due time."""
    from gateway.delivery import run_delivery

    runtime = _runtime(context)
    job_id = context.job.id if context.job else None
    with log_context(delivery_id=delivery_id, job_id=job_id):
        status = run_delivery(runtime.store, delivery_id, connectors=runtime.connectors, box=runtime.box)
        if status == "retrying":
            # Separate from run_delivery's commit: a crash in between leaves a due ``retrying``
            # delivery without a job, which the reconciler re-defers.
            with runtime.store.session() as s:
                d = s.get(Delivery, delivery_id)
                if d is not None and d.status == "retrying":
                    defer_delivery(s, delivery_id, when=d.next_attempt_at)
        elif status == "throttled":
            # its server is at its concurrency limit (gateway.limits): the same delivery again
            # shortly, jittered; slower once it has waited long (a backlog is not probed 5x/s)
            from gateway.limits import throttle_delay

            with runtime.store.session() as s:
                d = s.get(Delivery, delivery_id)
                if d is not None and d.status in ("queued", "retrying"):
                    since = max(d.updated_at, d.next_attempt_at or d.updated_at)
                    waited = (utcnow() - since).total_seconds()
                    # Ahead of fresh deliveries once due (a new job would queue behind the whole
                    # backlog, and a killed worker's recovered delivery would wait for all of it),
                    # and the longer it has waited the sooner it is taken: every retry is a new
                    # job, so without ageing the order among waiting deliveries was a lottery
                    # (one waited 11 s for a slot in the chaos test while others went first).
                    priority = THROTTLED_PRIORITY + min(THROTTLED_AGEING_MAX, int(waited))
                    defer_delivery(
                        s,
                        delivery_id,
                        when=utcnow() + timedelta(seconds=throttle_delay(waited)),
                        priority=priority,
                    )
        _log.info("job.delivery_attempted", status=status)
        return status


def requeue_abandoned(store: Store, delivery_id: str, reason: str, *, now: datetime | None = None) -> bool:
    """``sending`` → ``queued`` for an attempt whose worker is gone (an event says why)."""
    from gateway.delivery import update_invoice_status
    from gateway.lifecycle import check_transport
    from gateway.store import repository

    moment = now or utcnow()
    try:
        with store.session() as s:
            d = s.get(Delivery, delivery_id)
            if d is None or d.status != "sending":
                return False
            check_transport(d.status, "queued")
            d.status = "queued"
            d.next_attempt_at = moment
            d.updated_at = moment
            s.flush()  # optimistic lock: if the attempt finished meanwhile, leave it be
            repository.append_event(
                s,
                tenant_id=d.tenant_id,
                invoice_id=d.invoice_id,
                delivery_id=d.id,
                axis="transport",
                status="queued",
                previous="sending",
                source="worker-recovery",
                reason=reason,
                attempt=d.attempts,
            )
            update_invoice_status(s, d.invoice_id)
    except StaleDataError:
        return False
    _log.warning("delivery.requeued", delivery_id=delivery_id, reason=reason)
    return True


async def recover_stalled_jobs(
    store: Store, *, seconds_since_heartbeat: float = STALLED_AFTER, now: datetime | None = None
) -> list[int]:
    """Retry the jobs of workers silent for ``seconds_since_heartbeat``; returns their ids.

    A delivery job's delivery goes back to ``queued`` first, so the retried job can claim it.
    A job that cannot go back to ``todo`` (another pending job holds its queueing lock) is
    marked failed: the pending one does the work.
    """
    manager = app.job_manager
    recovered: list[int] = []
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat):
        if job.task_name == DELIVER_TASK:
            delivery_id = str(job.task_kwargs.get("delivery_id", ""))
            await asyncio.to_thread(
                requeue_abandoned,
                store,
                delivery_id,
                f"the worker running this attempt stopped (no heartbeat for {seconds_since_heartbeat:g} s)",
                now=now,
            )
        try:
            await manager.retry_job(job)
        except pexc.ConnectorException:
            await manager.finish_job(job, status=pjobs.Status.FAILED, delete_job=False)
        _log.warning("job.stalled_recovered", job_id=job.id, task=job.task_name, worker_id=job.worker_id)
        assert job.id is not None
        recovered.append(job.id)
    return recovered


_ORPHANS = text(
    """
    SELECT d.id, d.status FROM deliveries d
     WHERE (d.status = 'queued'
            OR (d.status = 'retrying' AND d.next_attempt_at <= :now)
            OR (d.status = 'sending' AND d.updated_at < :abandoned))
       AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j
                        WHERE j.queueing_lock = d.id AND j.status IN ('todo', 'doing'))
     ORDER BY d.next_attempt_at NULLS FIRST, d.created_at
     LIMIT :limit
    """
)


def orphaned_deliveries(
    store: Store, *, now: datetime | None = None, limit: int = 500
) -> list[tuple[str, str]]:
    """``(id, status)`` of deliveries that should have a job and have none."""
    moment = now or utcnow()
    with store.session() as s:
        rows = s.execute(
            _ORPHANS,
            {
                # the columns hold naive UTC (the models' UTCDateTime)
                "now": moment.replace(tzinfo=None),
                "abandoned": (moment - timedelta(seconds=ABANDONED_AFTER)).replace(tzinfo=None),
                "limit": limit,
            },
        ).all()
    return [(row[0], row[1]) for row in rows]


def redefer_orphans(store: Store, *, now: datetime | None = None) -> list[str]:
    """Give every orphaned delivery a job again; returns their ids."""
    orphans = orphaned_deliveries(store, now=now)
    done: list[str] = []
    for delivery_id, status in orphans:
        if status == "sending" and not requeue_abandoned(
            store, delivery_id, f"no worker has been running this attempt for {ABANDONED_AFTER:g} s", now=now
        ):
            continue
        with store.session() as s:
            defer_delivery(s, delivery_id)
        done.append(delivery_id)
    if done:
        _log.warning("delivery.redeferred", count=len(done), delivery_ids=done[:20])
    return done


async def reconcile_once(store: Store, *, now: datetime | None = None) -> dict[str, int]:
    """One reconciler pass (what the periodic task runs): stalled jobs, then orphans."""
    stalled = await recover_stalled_jobs(store, now=now)
    redeferred = await asyncio.to_thread(redefer_orphans, store, now=now)
    return {"stalled_jobs": len(stalled), "redeferred": len(redeferred)}


@app.periodic(cron=f"* * * * * */{RECONCILE_EVERY}", periodic_id="reconcile")  # 6th field: seconds
@app.task(
    name=RECONCILE_TASK,
    queue=MAINTENANCE_QUEUE,
    queueing_lock=RECONCILE_TASK,
    pass_context=True,
    priority=MAINTENANCE_PRIORITY,
)
async def reconcile(context: JobContext, timestamp: int) -> dict[str, int]:
    return await reconcile_once(_runtime(context).store)


@app.periodic(cron=f"* * * * * */{WEBHOOKS_EVERY}", periodic_id="webhooks")  # 6th field: seconds
@app.task(
    name=WEBHOOKS_TASK,
    queue=MAINTENANCE_QUEUE,
    queueing_lock=WEBHOOKS_TASK,
    pass_context=True,
    priority=MAINTENANCE_PRIORITY,
)
def send_webhooks(context: JobContext, timestamp: int) -> int:
    from gateway.webhooks import send_due_webhooks

    runtime = _runtime(context)
    return send_due_webhooks(runtime.store, runtime.box).sent


# -- the worker ----------------------------------------------------------------------------


def _default_connectors() -> dict[str, Connector]:
    from connectors import default_connectors

    return default_connectors()


def worker_options(runtime: Runtime, concurrency: int, **overrides: Any) -> dict[str, Any]:
    """The worker settings jobs.md measured for a ~7 s kill-to-rerun (tests override a few)."""
    options: dict[str, Any] = {
        "name": f"gateway-{socket.gethostname()}-{os.getpid()}",
        "concurrency": max(1, concurrency),
        "update_heartbeat_interval": HEARTBEAT_INTERVAL,
        "stalled_worker_timeout": STALLED_AFTER,
        "fetch_job_polling_interval": POLL_INTERVAL,
        "abort_job_polling_interval": 5.0,
        "delete_jobs": "successful",  # failed jobs stay for inspection; nothing else piles up
        "shutdown_graceful_timeout": 30.0,
        "additional_context": {"gateway": runtime},
    }
    options.update(overrides)
    return options


def run_worker(
    concurrency: int = 2,
    *,
    url: str | None = None,
    store: Store | None = None,
    box: SecretBox | None = None,
    connectors: Mapping[str, Connector] | None = None,
    metrics_port: int | None = None,
    **overrides: Any,
) -> None:
    """``gateway worker --concurrency N``: run jobs until SIGINT/SIGTERM (then finish the
    running ones, up to 30 s). ``metrics_port`` exposes this process's Prometheus series.

    The database going away (a restart, a failover) does not end the process: procrastinate's
    worker stops when it loses its connections, so it is run again, after a bounded backoff
    (``WORKER_RESTART_MIN`` doubling up to ``WORKER_RESTART_MAX`` s) while the database does
    not answer (``_supervise``). Only SIGINT/SIGTERM, or an error that is not an outage (a
    bug: ``gateway.store.availability``), ends it."""
    from gateway.secretbox import SecretBox
    from gateway.store import Store

    url = url or (store.url if store is not None else os.environ.get(DATABASE_URL_ENV))
    if not url:
        raise JobsUnavailable(
            f"{DATABASE_URL_ENV} is not set: `gateway worker` runs jobs on PostgreSQL "
            "(with SQLite, `gateway serve` delivers in-process)"
        )
    conninfo(url)  # refuses SQLite with a clear message before anything opens
    store = store or Store(url)
    runtime = Runtime(
        store=store, box=box or SecretBox.from_env(), connectors=connectors or _default_connectors()
    )
    use_database(url, max_size=max(4, concurrency + 2))
    stop_metrics = None
    if metrics_port is not None:
        from gateway.metrics import bind_store, serve_metrics

        bind_store(store)
        stop_metrics = serve_metrics(metrics_port)
    _log.info("worker.starting", concurrency=concurrency)
    try:
        asyncio.run(_supervise(url, worker_options(runtime, concurrency, **overrides)))
    finally:
        if stop_metrics is not None:
            stop_metrics()
        from gateway.runner import close_connectors

        close_connectors(runtime.connectors)
        _log.info("worker.stopped")


WORKER_RESTART_MIN = 0.5  # seconds before running the worker again after it lost the database
WORKER_RESTART_MAX = 5.0  # the longest wait between two attempts while the database is down
_WORKER_HEALTHY_AFTER = 30.0  # a run that lasted this long starts the backoff over
_STOP_GRACE_EXTRA = 15.0  # beyond shutdown_graceful_timeout: unregistering may wait for the pool


async def _supervise(url: str, options: dict[str, Any]) -> None:
    """Run procrastinate's worker until SIGINT/SIGTERM, again each time it ends on a database outage.

    What procrastinate does on its own (3.x): its LISTEN connection's reconnect fails while
    the server is down, the failed side task stops the worker, and ``run_worker`` returns once
    it could unregister (the database came back) or raises (it did not): the process used
    to exit and deliver nothing more. Here the signals are ours (the worker's are off): a
    stop cancels the running worker, which is procrastinate's graceful stop (running jobs
    finish, up to ``shutdown_graceful_timeout``). Jobs whose status could not be saved
    during the outage stay ``doing`` under the old worker id: the reconciler's stalled-job
    recovery takes them over. ``wait=False`` (drain the queue once) is never re-run.
    """
    import contextlib
    import signal

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    own_signals = bool(options.get("install_signal_handlers", True))
    options = {**options, "install_signal_handlers": False}
    installed: list[signal.Signals] = []
    if own_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stopping.set)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                continue
            installed.append(sig)
    grace = float(options.get("shutdown_graceful_timeout") or 30.0) + _STOP_GRACE_EXTRA
    delay = WORKER_RESTART_MIN
    try:
        while not stopping.is_set():
            started = loop.time()
            why = await _worker_run(url, options, stopping, grace)
            if stopping.is_set() or options.get("wait") is False:
                return
            if loop.time() - started >= _WORKER_HEALTHY_AFTER:
                delay = WORKER_RESTART_MIN
            _log.warning("worker.restarting", reason=why, in_seconds=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
            delay = min(delay * 2, WORKER_RESTART_MAX)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _worker_run(url: str, options: dict[str, Any], stopping: asyncio.Event, grace: float) -> str:
    """One run of procrastinate's worker; returns why it ended, raises what is not an outage."""
    from gateway.store.availability import database_unavailable

    run = asyncio.create_task(_open_and_work(url, options))
    stop_requested = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({run, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop_requested.cancel()
    if not run.done():
        run.cancel()  # procrastinate: stop fetching, let the running jobs finish, unregister
        await asyncio.wait({run}, timeout=grace)
        if not run.done():
            _log.error("worker.stop_timed_out", seconds=grace)
            return "stopped"
    if run.cancelled():
        return "stopped"
    error = run.exception()
    if error is None:
        return run.result()
    if stopping.is_set():  # e.g. unregistering failed because the database is still down
        _log.warning("worker.stopped_with_error", error=type(error).__name__)
        return "stopped"
    if not database_unavailable(error):
        raise error
    return f"database unavailable ({type(error).__name__}: {_first_line(error)})"


async def _open_and_work(url: str, options: dict[str, Any]) -> str:
    # A cheap probe first: opening the pool on a server that is down waits 30 s (psycopg_pool)
    import psycopg

    probe = await psycopg.AsyncConnection.connect(conninfo(url), connect_timeout=5, autocommit=True)
    await probe.close()
    async with app.open_async():
        await app.run_worker_async(**options)
    return "the worker stopped on its own (it lost its database connections)"


def _first_line(error: BaseException) -> str:
    cause = error.__cause__ or error
    text = str(cause).strip() or str(error).strip()
    return text.splitlines()[0][:200] if text else ""


# -- schema (called by the Alembic revision 0002) -------------------------------------------


def apply_procrastinate_schema(bind: Connection) -> None:
    """Create procrastinate's tables, types and functions on this (PostgreSQL) connection."""
    newest = sorted(p.stem for p in migrations_path.glob("*.sql"))[-1]
    if newest != SCHEMA_VERSION:
        raise RuntimeError(
            f"the installed procrastinate's schema is at {newest}, this migration knows {SCHEMA_VERSION}: "
            "add an Alembic revision applying procrastinate's newer migration files"
        )
    raw = bind.connection.driver_connection
    assert raw is not None
    raw.execute(SchemaManager.get_schema())  # no parameters: psycopg sends it as is
    raw.execute(f"COMMENT ON TABLE procrastinate_jobs IS 'procrastinate schema {SCHEMA_VERSION}'")


def drop_procrastinate_schema(bind: Connection) -> None:
    """Remove every procrastinate object (the downgrade of revision 0002)."""
    for (name,) in bind.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE 'procrastinate%'"
        )
    ).all():
        bind.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    for (signature,) in bind.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'"
        )
    ).all():
        bind.execute(text(f"DROP FUNCTION IF EXISTS {signature} CASCADE"))
    for (name,) in bind.execute(
        text(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%' "
            "AND t.typtype IN ('e', 'c')"
        )
    ).all():
        bind.execute(text(f'DROP TYPE IF EXISTS "{name}" CASCADE'))


# The batch tasks live next door and register on ``app`` when imported: every process that
# imports this module (a worker, the API deferring a batch) knows them.
from gateway import batch_jobs as _batch_jobs  # noqa: E402,F401
