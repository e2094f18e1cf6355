"""Delivery jobs on PostgreSQL: same-transaction defer, workers, the reconciler, killed workers.

Every test gets a fresh migrated database (``gateway.store.testing``); the tests skip when
PostgreSQL is unreachable and ``CI`` is unset. Workers run as subprocesses (``python -c``),
so a SIGKILL is a real one; every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from gateway import jobs
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.migrate import migrate
from gateway.store.models import Delivery, utcnow
from gateway.store.testing import migrated_store
from tests.gateway.delivery_env import add_delivery_rows

ROOT = Path(__file__).resolve().parents[2]
BOX_KEY = bytes(range(32))

WORKER = """
import os, sys, time
from connectors.folder import FolderConnector
from gateway import jobs, logging as gwlog
from gateway.secretbox import SecretBox

class HangOnce(FolderConnector):
    # the first send (marker absent) hangs like a stuck connection: the test kills us there
    def send(self, documents, settings, secrets, *, delivery_id):
        marker = os.environ.get("HANG_MARKER")
        if marker and not os.path.exists(marker):
            with open(marker, "w") as fh:
                fh.write(str(os.getpid()))
            time.sleep(600)
        return super().send(documents, settings, secrets, delivery_id=delivery_id)

gwlog.configure(json=True)
jobs.run_worker(2, url=os.environ["GATEWAY_DATABASE_URL"], box=SecretBox(bytes(range(32))),
                connectors={"folder": HangOnce()})
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with migrated_store("postgresql", tmp_path) as st:
        yield st


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(BOX_KEY)


@pytest.fixture
def tenant_id(store: Store) -> str:
    with store.session() as s:
        tenant, _ = repository.create_tenant(s, "acme")
        return tenant.id


def add_delivery(s, tenant_id: str, folder: Path, *, status: str = "queued", next_attempt_at=None) -> str:
    """An accepted invoice with a UBL document and a folder delivery, in the caller's session."""
    return add_delivery_rows(
        s,
        tenant_id,
        status=status,
        channel_type="folder",
        channel_name="archive",
        settings={"path": str(folder)},
        number="J-1",
        content=b"<Invoice>jobs</Invoice>",
        next_attempt_at=next_attempt_at,
    )


def jobs_for(store: Store, delivery_id: str) -> list[tuple[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status, scheduled_at FROM procrastinate_jobs WHERE queueing_lock = :d ORDER BY id"),
            {"d": delivery_id},
        ).all()
    return [(str(r[0]), r[1]) for r in rows]


def status_of(store: Store, delivery_id: str) -> str:
    with store.session() as s:
        d = s.get(Delivery, delivery_id)
        return d.status if d else "missing"


def transport(store: Store, tenant_id: str, delivery_id: str) -> list[tuple[str | None, str, str]]:
    with store.session() as s:
        d = s.get(Delivery, delivery_id)
        assert d is not None
        events = repository.list_events(s, tenant_id, d.invoice_id)
        return [(e.previous, e.status, e.source) for e in events if e.delivery_id == delivery_id]


class Worker:
    """``gateway worker`` in a subprocess, its output in a file; stopped (or killed) at the end."""

    def __init__(self, url: str, log: Path, **env: str) -> None:
        self.log = log
        self.fh = log.open("ab")
        full = {
            **os.environ,
            "GATEWAY_DATABASE_URL": url,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER], cwd=ROOT, env=full, stdout=self.fh, stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def wait_for(predicate, timeout: float, what: str, worker: Worker | None = None) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    detail = f"\n--- worker output ---\n{worker.output()}" if worker else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")


# -- no worker -----------------------------------------------------------------------------


def test_conninfo_converts_the_sqlalchemy_url_and_refuses_sqlite():
    assert jobs.conninfo("postgresql+psycopg://gw:pw@db:5433/gw?sslmode=require") == (
        "postgresql://gw:pw@db:5433/gw?sslmode=require"
    )
    with pytest.raises(jobs.JobsUnavailable, match="needs PostgreSQL"):
        jobs.conninfo("sqlite:///gateway.db")


def test_the_migration_creates_the_queue_on_postgresql_only(store, tmp_path):
    with store.engine.connect() as conn:
        comment = conn.execute(text("SELECT obj_description('procrastinate_jobs'::regclass)")).scalar()
    assert comment == f"procrastinate schema {jobs.SCHEMA_VERSION}"
    sqlite = Store(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        migrate(sqlite)
        with sqlite.engine.connect() as conn:
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE name LIKE 'procrastinate%'")
            ).all()
        assert names == []
    finally:
        sqlite.dispose()


def test_defer_is_part_of_the_callers_transaction(store, tenant_id, tmp_path):
    other = create_engine(store.url)
    try:
        ids: list[str] = []

        def submit_then_fail() -> None:
            with store.session() as s:
                ids.append(add_delivery(s, tenant_id, tmp_path))
                assert jobs.defer_delivery(s, ids[0]) is not None
                raise RuntimeError("client went away")

        with pytest.raises(RuntimeError, match="client went away"):
            submit_then_fail()
        (rolled_back,) = ids
        assert status_of(store, rolled_back) == "missing"
        assert jobs_for(store, rolled_back) == []  # rollback → no job either

        with store.session() as s:
            kept = add_delivery(s, tenant_id, tmp_path)
            job_id = jobs.defer_delivery(s, kept)
            with other.connect() as conn:  # not visible to anyone before the commit
                seen = conn.execute(
                    text("SELECT count(*) FROM procrastinate_jobs WHERE id = :i"), {"i": job_id}
                )
                assert seen.scalar() == 0
        assert status_of(store, kept) == "queued"
        assert [status for status, _ in jobs_for(store, kept)] == ["todo"]  # commit → both
    finally:
        other.dispose()


def test_a_second_defer_keeps_the_callers_rows_and_brings_the_job_forward(store, tenant_id, tmp_path):
    later = utcnow() + timedelta(hours=1)
    with store.session() as s:
        first = add_delivery(s, tenant_id, tmp_path)
        assert jobs.defer_delivery(s, first, when=later) is not None
        # AlreadyEnqueued inside the shared transaction: the savepoint keeps everything else
        assert jobs.defer_delivery(s, first) is None
        second = add_delivery(s, tenant_id, tmp_path)  # written after the conflict
    assert status_of(store, first) == "queued"
    assert status_of(store, second) == "queued"
    ((status, scheduled_at),) = jobs_for(store, first)
    assert status == "todo"
    assert scheduled_at <= utcnow()  # "now" wins over "in an hour"


def test_defer_is_a_no_op_on_sqlite(tmp_path):
    sqlite = Store(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        migrate(sqlite)
        with sqlite.session() as s:
            assert jobs.defer_delivery(s, "dlv_x") is None
    finally:
        sqlite.dispose()


def test_the_reconciler_finds_deliveries_without_a_job(store, tenant_id, tmp_path):
    soon = utcnow() + timedelta(minutes=10)
    with store.session() as s:
        orphan = add_delivery(s, tenant_id, tmp_path)  # committed, never deferred: a crash
        with_job = add_delivery(s, tenant_id, tmp_path)
        jobs.defer_delivery(s, with_job)
        backoff = add_delivery(s, tenant_id, tmp_path, status="retrying", next_attempt_at=soon)
    found = dict(jobs.orphaned_deliveries(store))
    assert found == {orphan: "queued"}  # the retrying one is not due yet
    assert jobs.redefer_orphans(store) == [orphan]
    assert [st for st, _ in jobs_for(store, orphan)] == ["todo"]
    assert jobs.orphaned_deliveries(store) == []
    # once due, the retrying delivery gets its job too
    assert jobs.redefer_orphans(store, now=soon + timedelta(seconds=1)) == [backoff]


# -- with workers --------------------------------------------------------------------------


def test_a_worker_delivers_and_notifies_and_the_reconciler_rescues_a_lost_defer(
    store, tenant_id, box, tmp_path
):
    from tests.gateway.test_webhooks import Receiver

    out = tmp_path / "out"
    out.mkdir()
    with Receiver() as rx:
        with store.session() as s:
            repository.create_webhook(s, tenant_id, rx.url, box)
            deferred = add_delivery(s, tenant_id, out)
            jobs.defer_delivery(s, deferred)
            lost = add_delivery(s, tenant_id, out)  # committed without a job: defer "crashed"
        worker = Worker(store.url, tmp_path / "worker.log")
        try:
            wait_for(lambda: status_of(store, deferred) == "delivered", 30, "the deferred delivery", worker)
            wait_for(lambda: status_of(store, lost) == "delivered", 15, "the reconciled delivery", worker)
            wait_for(lambda: len(rx.requests) >= 2, 15, "status webhooks", worker)
        finally:
            worker.stop()
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted([f"{deferred}-J-1.xml", f"{lost}-J-1.xml"])
    assert [e[1] for e in transport(store, tenant_id, lost)] == ["sending", "delivered"]
    statuses = {(h["webhook-id"], body) for _, h, body in rx.requests}
    assert any(b'"status":"delivered"' in body for _, body in statuses)
    # successful jobs are deleted; nothing is left todo or doing for these deliveries
    assert jobs_for(store, deferred) == []


def test_a_killed_worker_s_delivery_is_recovered_and_completed(store, tenant_id, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    marker = tmp_path / "hanging"
    with store.session() as s:
        delivery_id = add_delivery(s, tenant_id, out)
        jobs.defer_delivery(s, delivery_id)
    first = Worker(store.url, tmp_path / "first.log", HANG_MARKER=str(marker))
    second: Worker | None = None
    try:
        wait_for(marker.exists, 30, "the first worker to start sending", first)
        assert status_of(store, delivery_id) == "sending"
        first.kill()
        killed_at = time.monotonic()
        second = Worker(store.url, tmp_path / "second.log", HANG_MARKER=str(marker))
        wait_for(lambda: status_of(store, delivery_id) == "delivered", 30, "recovery", second)
        kill_to_delivered = time.monotonic() - killed_at
    finally:
        first.stop()
        if second is not None:
            second.stop()
    events = transport(store, tenant_id, delivery_id)
    assert [(prev, st) for prev, st, _ in events] == [
        ("queued", "sending"),
        ("sending", "queued"),
        ("queued", "sending"),
        ("sending", "delivered"),
    ]
    assert events[1][2] == "worker-recovery"
    assert [p.name for p in out.iterdir()] == [f"{delivery_id}-J-1.xml"]
    print(f"kill-to-delivered: {kill_to_delivered:.1f} s (includes starting the second worker)")
    assert kill_to_delivered < 15
