"""Batches on PostgreSQL: their invoices rendered, validated and stored by ``gateway worker`` processes.

On SQLite a batch's items are submitted by threads of the API process (``BatchRunner``). On
PostgreSQL that work (reading, rendering, the official Schematron: CPU-bound, ~10 ms an
invoice) belongs to the workers, so that adding worker processes, on this machine or on
others, adds throughput:

* **Chunks, deferred with the batch.** ``defer_batch`` inserts one ``gateway.batch_chunk``
  job per ``CHUNK`` items in the transaction that stores the batch: the API answers 202 only
  once the items *and* their jobs are committed. A chunk is the unit of scheduling (one job
  per invoice would spend a fifth of the time on the queue itself).
* **Deliveries first.** Chunks run at a lower priority than deliveries, so a worker busy
  with a 10,000-invoice batch still sends what it has already accepted: accepted invoices
  are delivered while the batch goes on, not after it.
* **One CPU-bound chunk at a time per process.** A worker runs its jobs in threads under
  one GIL, and the in-process validation engine (Saxon) is not shared between threads:
  chunks are processed under a process-wide lock, while delivery jobs (I/O) go on in the
  other threads. A chunk's invoices are stored in one transaction on its first run
  (``batches.process_span``), item by item when it is tried again. Scale the CPU-bound
  part with processes (``gateway worker --processes N``) and machines, not with
  ``--concurrency``.
* **Safe to repeat.** Each item goes through ``batches.process_item``: items no longer
  pending are skipped, and the pipeline's Idempotency-Key ``batch:<id>:<position>`` turns
  the repetition of an item whose worker died after storing it into a replay. A chunk whose
  worker was killed is retried by the reconciler's stalled-job recovery (``gateway.jobs``);
  an item whose processing kills its worker every time is refused after
  ``batches.MAX_ATTEMPTS``.
* **Nothing left pending.** A periodic task re-defers the chunks of items still pending
  without a live job (a chunk that failed on an unexpected error, a job deleted by hand).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from procrastinate import JobContext
from procrastinate import jobs as pjobs
from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway import batches
from gateway.jobs import (
    _IN_TRANSACTION,
    MAINTENANCE_PRIORITY,
    UNEXPECTED_RETRY,
    Runtime,
    _raw_connection,
    _runtime,
    app,
)
from gateway.logging import get_logger, log_context
from gateway.store.models import utcnow

if TYPE_CHECKING:
    from gateway.pipeline import PipelineContext, Validator
    from gateway.store import Store

__all__ = [
    "BATCH_QUEUE",
    "BATCH_TASK",
    "CHUNK",
    "defer_batch",
    "orphaned_chunks",
    "process_chunk",
    "redefer_orphaned_chunks",
    "set_engine",
]

BATCH_TASK = "gateway.batch_chunk"
BATCHES_RECONCILE_TASK = "gateway.reconcile_batches"
BATCH_QUEUE = "batches"
CHUNK = 20  # items per job
BATCH_PRIORITY = -10  # deliveries (priority 0) are fetched first
RECONCILE_BATCHES_EVERY = 5  # seconds
ORPHAN_GRACE_SECONDS = 30.0  # a pending item untouched this long without a job gets one again

_log = get_logger("gateway.batch_jobs")
_cpu = threading.Lock()  # one CPU-bound item at a time in this process
_context_lock = threading.Lock()
_contexts: dict[int, PipelineContext] = {}
_engine: Validator | None = None


def _chunks(total: int, chunk: int) -> list[dict[str, Any]]:
    return [{"start": start, "stop": min(start + chunk, total)} for start in range(0, total, chunk)]


def defer_batch(session: Session, tenant_id: str, batch_id: str, total: int, *, chunk: int = CHUNK) -> int:
    """Queue the batch's chunks in the caller's transaction; returns how many jobs (0 on
    SQLite, where the API's ``BatchRunner`` does the work)."""
    if session.get_bind().dialect.name != "postgresql" or total <= 0:
        return 0
    kwargs = [{"tenant_id": tenant_id, "batch_id": batch_id, **span} for span in _chunks(total, chunk)]
    with session.begin_nested():  # the raw connection must be taken inside (jobs.defer_delivery)
        _defer_chunks(session, kwargs)
    return len(kwargs)


def _defer_chunks(session: Session, spans: list[dict[str, Any]]) -> None:
    """One ``process_chunk`` job per span, on the session's own connection (its transaction)."""
    raw = _raw_connection(session)
    job = process_chunk.configure().job
    pjobs.JobDeferrer(_IN_TRANSACTION, job, connection=raw).batch_defer(*spans)


def set_engine(engine: Validator | None) -> None:
    """Use ``engine`` for this process's batch items (tests inject their warm one)."""
    global _engine
    with _context_lock:
        _engine = engine
        _contexts.clear()


def _pipeline_context(runtime: Runtime) -> PipelineContext:
    """This process's pipeline context: one in-process validation engine per process, warm
    after its first invoice (the worker process is the unit of parallelism: no validator
    pool inside it)."""
    global _engine
    key = id(runtime)
    found = _contexts.get(key)
    if found is None:
        with _context_lock:
            found = _contexts.get(key)
            if found is None:
                from gateway.keystore import KeyVault
                from gateway.pipeline import PipelineContext

                if _engine is None:
                    from schemas.engine import Engine

                    _engine = Engine()
                found = PipelineContext(engine=_engine, box=runtime.box, vault=KeyVault(box=runtime.box))
                _contexts[key] = found
    return found


@app.task(
    name=BATCH_TASK, queue=BATCH_QUEUE, pass_context=True, priority=BATCH_PRIORITY, retry=UNEXPECTED_RETRY
)
def process_chunk(
    context: JobContext, tenant_id: str, batch_id: str, start: int, stop: int
) -> dict[str, int]:
    """Submit the pending items ``start``..``stop - 1`` of a batch; counts by outcome."""
    runtime = _runtime(context)
    ctx = _pipeline_context(runtime)
    with log_context(batch_id=batch_id, job_id=context.job.id if context.job else None), _cpu:
        counts = batches.process_span(runtime.store, ctx, tenant_id, batch_id, start, stop)
        _log.info("batch.chunk_done", start=start, stop=stop, **counts)
    if counts.get("pending"):
        # left pending on an unexpected error (the attempt is counted): try the chunk again
        raise RuntimeError(
            f"{counts['pending']} item(s) of batch {batch_id} {start}..{stop - 1} left pending"
        )
    return counts


_ORPHANED_CHUNKS = text(
    """
    SELECT p.tenant_id, p.batch_id, p.chunk_start, MAX(p.position) + 1 AS chunk_stop
      FROM (SELECT tenant_id, batch_id, position, position - position % :chunk AS chunk_start
              FROM batch_items WHERE status = 'pending' AND updated_at < :before) p
     WHERE NOT EXISTS (
           SELECT 1 FROM procrastinate_jobs j
            WHERE j.task_name = :task AND j.status IN ('todo', 'doing')
              AND j.args->>'batch_id' = p.batch_id
              AND (j.args->>'start')::int <= p.position AND p.position < (j.args->>'stop')::int)
     GROUP BY p.tenant_id, p.batch_id, p.chunk_start
     ORDER BY p.batch_id, p.chunk_start
     LIMIT :limit
    """
)


def orphaned_chunks(
    store: Store, *, grace: float = ORPHAN_GRACE_SECONDS, limit: int = 200
) -> list[dict[str, Any]]:
    """Spans of pending items that no pending or running chunk job covers."""
    from datetime import timedelta

    before = (utcnow() - timedelta(seconds=grace)).replace(tzinfo=None)
    with store.session() as s:
        rows = s.execute(
            _ORPHANED_CHUNKS, {"chunk": CHUNK, "before": before, "task": BATCH_TASK, "limit": limit}
        ).all()
    return [
        {"tenant_id": tenant_id, "batch_id": batch_id, "start": int(start), "stop": int(stop)}
        for tenant_id, batch_id, start, stop in rows
    ]


def redefer_orphaned_chunks(store: Store, *, grace: float = ORPHAN_GRACE_SECONDS) -> int:
    """Give every orphaned span a job again; returns how many."""
    if store.is_sqlite:
        return 0
    spans = orphaned_chunks(store, grace=grace)
    if not spans:
        return 0
    with store.session() as s:
        _defer_chunks(s, spans)
    _log.warning(
        "batch.chunks_redeferred", count=len(spans), batch_ids=sorted({sp["batch_id"] for sp in spans})
    )
    return len(spans)


@app.periodic(cron=f"* * * * * */{RECONCILE_BATCHES_EVERY}", periodic_id="reconcile_batches")
@app.task(
    name=BATCHES_RECONCILE_TASK,
    queue="maintenance",
    queueing_lock=BATCHES_RECONCILE_TASK,
    pass_context=True,
    priority=MAINTENANCE_PRIORITY,
)
def reconcile_batches(context: JobContext, timestamp: int) -> int:
    return redefer_orphaned_chunks(_runtime(context).store)
