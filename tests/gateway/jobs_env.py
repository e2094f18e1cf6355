"""Run the PostgreSQL job queue inside a test, until it has nothing left to do.

``drain_jobs`` runs a real procrastinate worker (the same tasks and options as
``gateway worker``) in this process with ``wait=False``: it stops once the queue has caught
up, and it is run again while due jobs remain (a batch chunk defers deliveries as it goes).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text

from gateway import batch_jobs, jobs
from gateway.secretbox import SecretBox
from gateway.store import Store

_DUE = text(
    "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
    "AND queue_name <> 'maintenance' AND (scheduled_at IS NULL OR scheduled_at <= now())"
)


def due_jobs(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(_DUE) or 0)


def drain_jobs(
    store: Store,
    box: SecretBox,
    *,
    engine: Any = None,
    connectors: Mapping[str, Any] | None = None,
    seconds: float = 120.0,
) -> None:
    """Run the due jobs of ``store`` (PostgreSQL) until none is left (bounded by ``seconds``)."""
    from connectors import default_connectors

    if engine is not None:
        batch_jobs.set_engine(engine)
    runtime = jobs.Runtime(store=store, box=box, connectors=connectors or default_connectors())
    jobs.use_database(store.url)
    deadline = time.monotonic() + seconds
    try:
        while due_jobs(store):
            if time.monotonic() > deadline:
                raise AssertionError(f"jobs still due after {seconds} s")
            jobs.app.run_worker(
                **jobs.worker_options(
                    runtime,
                    2,
                    wait=False,
                    install_signal_handlers=False,
                    listen_notify=False,
                    queues=[jobs.DELIVERY_QUEUE, batch_jobs.BATCH_QUEUE],
                )
            )
    finally:
        if engine is not None:
            batch_jobs.set_engine(None)
