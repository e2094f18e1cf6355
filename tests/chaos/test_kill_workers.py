"""Chaos: delivery workers killed with SIGKILL at random points lose and duplicate nothing (issue 9).

Real components throughout: a fresh migrated PostgreSQL database (``gateway.store.testing``),
invoices stored through the real pipeline (``submit_to_store``: the EN 16931 UBL rendering of
``examples/de-domestic-b2b.json`` with a distinct number each, validated by the built-in XSD
and CEN Schematron), a recipient with an ``sftp`` channel to a real OpenSSH sshd on loopback
(``tests/connectors/sshd.py``), and ``gateway worker`` processes (``jobs.run_worker`` in a
``python -c`` subprocess, ``--concurrency 4``) killed with a real SIGKILL.

The workers use the real ``SftpConnector`` with two short random pauses (at most ``PAUSE``
s) where a crash hurts most: the partial file is uploaded but not yet renamed, and the final
file is in place but the delivery not yet recorded. Without them an attempt takes a few
milliseconds and almost every kill would land in the database code. The channel allows as
many connections as the workers have threads (``max_connections``), so what is measured is
the recovery, not the per-server limit's queue (``gateway.limits``).

Kill ``k`` comes once a random share (``KILL_SPREAD``) of the deliveries is delivered, at
least ``MIN_GAP`` s after the previous one, and takes a random worker that has registered. The
victim is first frozen (SIGSTOP) so that what it is doing can be read without a race (its
running ``deliver`` jobs, by the procrastinate worker id the subprocess reports, and which of
their files are on the server), then SIGKILLed, and a replacement started. After the last
kill the test waits (bounded) until every delivery is ``delivered``, then checks:

* the SFTP server holds exactly one file per expected remote name, no ``.partial`` left, each
  with the SHA-256 of the stored document;
* every delivery that was ``sending`` when its worker was killed was claimed again within
  ``RERUN_BOUND`` (15 s) of the kill (events table), after a ``worker-recovery`` event; when
  a later victim had picked up the recovered job and died before claiming the delivery, the
  bound runs from that later kill (one more recovery is due);
* every attempt beyond the first is explained by a recorded recovery (or a recorded transient
  failure), each delivery has exactly one ``delivered`` event, and a re-send that found its
  file already in place (a kill after the rename, before the record) is recorded as such:
  ``raw_code`` ``unchanged`` on the event, ``outcome: unchanged`` with the same SHA-256 in the
  evidence manifest.

Environment:

* ``GATEWAY_CHAOS_FULL=1``: the issue's size, 2,000 invoices and 20 kills (a few minutes:
  storing 2,000 invoices through the pipeline is part of it). Default (CI): 200 and 8.
* ``GATEWAY_CHAOS_SEED=<int>``: the test's own random choices (kill moments and victims;
  printed with the figures). The workers' timing is not reproducible.
* ``GATEWAY_CHAOS_LIMIT=<n>``: the channel's ``max_connections`` (``0``: the sftp default),
  to see recovery behind a saturated per-server limit.

Run with ``-s`` to see the figures::

    CI=1 .venv/bin/pytest -q -s -m chaos tests/chaos/test_kill_workers.py
    GATEWAY_CHAOS_FULL=1 CI=1 .venv/bin/pytest -q -s -m chaos tests/chaos/test_kill_workers.py
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from gateway import jobs
from gateway.pipeline import PipelineContext, submit_to_store
from gateway.recipients import RecipientIn
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.models import utcnow
from gateway.store.testing import migrated_store
from tests.connectors import sshd

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.skipif(sshd.available() is not None, reason=str(sshd.available())),
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "de-domestic-b2b.json"
BOX_KEY = bytes(range(32))

FULL = os.environ.get("GATEWAY_CHAOS_FULL", "").strip() not in ("", "0")
INVOICES, KILLS = (2000, 20) if FULL else (200, 8)
WORKERS = 2
CONCURRENCY = 4
PAUSE = 0.25  # seconds, the longest injected pause (before the rename; half of it before the record)
# Kill k happens once a random share of the deliveries (from KILL_SPREAD) is delivered, and no
# sooner than MIN_GAP s after the previous kill (a worker must live to run the reconciler at all).
KILL_SPREAD = (0.03, 0.6)
MIN_GAP = 1.2
# Deliveries at once to the sshd (gateway.limits): as many as the workers' threads, so that what is
# measured is the recovery, not the per-server limit's queue (GATEWAY_CHAOS_LIMIT=0: the default).
LIMIT = int(os.environ.get("GATEWAY_CHAOS_LIMIT") or WORKERS * CONCURRENCY)
SETTLE = 0.25  # seconds between freezing a victim and reading what it was doing
RERUN_BOUND = 15.0  # seconds from a kill to the next attempt of what the killed worker was sending

WORKER = """
import os, random, time
from pathlib import Path
from connectors.sftp import SftpConnector
from gateway import jobs, logging as gwlog
from gateway.secretbox import SecretBox

PAUSE = float(os.environ["CHAOS_PAUSE"])

class SlowSftp(SftpConnector):
    # the real connector, with a pause where the partial is up but not renamed
    @staticmethod
    def _rename(session, partial, path):
        time.sleep(random.uniform(0, PAUSE))
        SftpConnector._rename(session, partial, path)

    # and one where the final file is in place but the delivery not yet recorded
    def send(self, documents, settings, secrets, *, delivery_id):
        result = super().send(documents, settings, secrets, delivery_id=delivery_id)
        time.sleep(random.uniform(0, PAUSE / 2))
        return result

register = jobs.app.job_manager.register_worker

async def register_and_tell():
    # the test maps this process to its procrastinate worker id (procrastinate_jobs.worker_id)
    worker_id = await register()
    ready = Path(os.environ["CHAOS_ID_FILE"])
    ready.with_suffix(".tmp").write_text(str(worker_id))
    ready.with_suffix(".tmp").replace(ready)
    return worker_id

jobs.app.job_manager.register_worker = register_and_tell
gwlog.configure(json=True)
jobs.run_worker(int(os.environ["CHAOS_CONCURRENCY"]), url=os.environ["GATEWAY_DATABASE_URL"],
                box=SecretBox(bytes(range(32))), connectors={"sftp": SlowSftp()})
"""


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with migrated_store("postgresql", tmp_path) as st:
        yield st


@pytest.fixture
def server(tmp_path: Path) -> Iterator[sshd.SshServer]:
    with sshd.running(tmp_path / "sshd") as running:
        yield running


# ---------------------------------------------------------------- workers


class Worker:
    """``gateway worker`` in a subprocess; ``worker_id`` once it has registered with procrastinate."""

    def __init__(self, url: str, folder: Path, number: int) -> None:
        self.number = number
        self.id_file = folder / f"worker-{number}.id"
        self.log = folder / f"worker-{number}.log"
        self.fh = self.log.open("ab")
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": url,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "CHAOS_ID_FILE": str(self.id_file),
            "CHAOS_PAUSE": str(PAUSE),
            "CHAOS_CONCURRENCY": str(CONCURRENCY),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=self.fh, stderr=subprocess.STDOUT
        )
        self.worker_id: int | None = None

    def registered(self) -> int | None:
        if self.worker_id is None and self.id_file.exists():
            self.worker_id = int(self.id_file.read_text())
        return self.worker_id

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=35)  # a worker finishes its running jobs first (up to 30 s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@dataclass
class Expected:
    """What the server must end up holding for one delivery."""

    name: str
    sha256: str


@dataclass
class Interrupted:
    """A delivery the victim had claimed (``sending``) when it was killed."""

    delivery_id: str
    attempt: int
    phase: str  # before-upload | mid-transfer (partial on the server) | after-rename (final there)


@dataclass
class Kill:
    worker: int
    worker_id: int
    at: datetime
    interrupted: list[Interrupted] = field(default_factory=list)
    # every delivery whose job the victim was running, claimed (sending) or not yet: a job
    # recovered from one kill can be taken by the next victim before it claims its delivery
    held: set[str] = field(default_factory=set)


_VICTIM_DELIVERIES = text(
    """
    SELECT d.id, d.status, d.attempts FROM procrastinate_jobs j JOIN deliveries d ON d.id = j.queueing_lock
     WHERE j.status = 'doing' AND j.worker_id = :worker_id AND j.task_name = :task
    """
)


def kill(victim: Worker, store: Store, inbox: Path, expected: dict[str, Expected]) -> Kill:
    """Freeze ``victim``, note what it is sending and how far each file got, then SIGKILL it."""
    assert victim.worker_id is not None
    os.kill(victim.proc.pid, signal.SIGSTOP)
    interrupted: list[Interrupted] = []
    held: set[str] = set()
    try:
        # a statement (a COMMIT) the victim sent just before it stopped is still carried out by
        # its server backend: let it land before reading what the victim leaves behind
        time.sleep(SETTLE)
        with store.engine.connect() as conn:
            rows = conn.execute(
                _VICTIM_DELIVERIES, {"worker_id": victim.worker_id, "task": jobs.DELIVER_TASK}
            ).all()
        on_server = set(os.listdir(inbox))
        held.update(str(row[0]) for row in rows)
        for delivery_id, status, attempts in rows:
            if status != "sending":
                continue  # claimed in a transaction not yet committed (rolled back), or already recorded
            name = expected[delivery_id].name
            if name in on_server:
                phase = "after-rename"
            elif any(f.startswith(f".{name}.") and f.endswith(".partial") for f in on_server):
                phase = "mid-transfer"
            else:
                phase = "before-upload"
            interrupted.append(Interrupted(delivery_id, int(attempts), phase))
    finally:
        victim.proc.send_signal(signal.SIGKILL)
        at = utcnow()
        victim.proc.wait(timeout=10)
        victim.fh.close()
    return Kill(victim.number, victim.worker_id, at, interrupted, held)


# ---------------------------------------------------------------- data


def store_invoices(
    store: Store, server: sshd.SshServer, inbox: Path, count: int
) -> tuple[str, dict[str, Expected]]:
    """A tenant, an sftp recipient and ``count`` invoices through the pipeline.

    Returns the tenant id and, per delivery id, the file the server must end up holding.
    """
    from schemas.engine import Engine

    box = SecretBox(BOX_KEY)
    base = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    recipient = RecipientIn.model_validate(
        {
            "name": "Chaos Buyer",
            "buyer": base["buyer"],
            "formats": [{"kind": "ubl", "profile": "en16931"}],
            "channels": [
                {
                    "type": "sftp",
                    "name": "buyer-sftp",
                    "settings": {
                        "host": server.host,
                        "port": server.port,
                        "username": server.user,
                        "remote_path": f"{inbox}/{{filename}}",
                        "host_key": server.host_key_line,
                        **({"max_connections": LIMIT} if LIMIT else {}),
                    },
                    "secrets": {"private_key": server.client_key_pem},
                }
            ],
        }
    )
    with store.session() as s:
        tenant, _ = repository.create_tenant(s, "chaos")
        tenant_id = tenant.id
        recipient_id = repository.create_recipient(s, tenant_id, recipient, box).id
    ctx = PipelineContext(engine=Engine(), box=box)
    for i in range(count):
        data = copy.deepcopy(base)
        number = f"CHAOS-{i:05d}"
        data["number"] = number
        data["payment_instructions"]["remittance_information"] = number
        data["lines"][0]["quantity"] = 1 + i % 97
        outcome = submit_to_store(
            store,
            tenant_id,
            json.dumps(data).encode("utf-8"),
            "application/json",
            recipient_id=recipient_id,
            inline_recipient=None,
            idempotency_key=None,
            ctx=ctx,
        )
        assert outcome.accepted, outcome.report
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.id, doc.filename, doc.sha256, doc.content FROM deliveries d "
                "JOIN documents doc ON doc.invoice_id = d.invoice_id AND doc.kind = 'ubl' "
                "WHERE d.tenant_id = :t"
            ),
            {"t": tenant_id},
        ).all()
    expected: dict[str, Expected] = {}
    for delivery_id, filename, sha256, content in rows:
        assert hashlib.sha256(content).hexdigest() == sha256
        expected[delivery_id] = Expected(filename, sha256)
    assert len(expected) == count
    assert len({e.name for e in expected.values()}) == count  # distinct remote names
    return tenant_id, expected


def status_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status")).all()
    return {str(status): int(n) for status, n in rows}


def wait_until(predicate: Any, timeout: float, what: str, workers: list[Worker]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    logs = "\n".join(f"--- worker {w.number} ---\n{w.output()}" for w in workers)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")


# ---------------------------------------------------------------- the test


def test_killed_workers_lose_and_duplicate_no_delivery(
    store: Store, server: sshd.SshServer, tmp_path: Path
) -> None:
    seed = int(os.environ.get("GATEWAY_CHAOS_SEED") or random.SystemRandom().randrange(2**31))
    rng = random.Random(seed)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    logs = tmp_path / "workers"
    logs.mkdir()

    started = time.monotonic()
    tenant_id, expected = store_invoices(store, server, inbox, INVOICES)
    stored_seconds = time.monotonic() - started

    workers: list[Worker] = []
    everyone: list[Worker] = []
    kills: list[Kill] = []

    def spawn() -> None:
        worker = Worker(store.url, logs, len(everyone))
        workers.append(worker)
        everyone.append(worker)

    run_started = time.monotonic()
    try:
        for _ in range(WORKERS):
            spawn()
        wait_until(lambda: status_counts(store).get("delivered", 0) > 0, 60, "the first delivery", everyone)
        # kills at random moments of the run, each of a random registered worker, a replacement
        # started at once
        targets = sorted(int(rng.uniform(*KILL_SPREAD) * INVOICES) for _ in range(KILLS))
        kill_deadline = time.monotonic() + 60 + KILLS * 10
        last_kill = time.monotonic()
        while len(kills) < KILLS:
            assert time.monotonic() < kill_deadline, f"only {len(kills)} of {KILLS} kills in time"
            for worker in workers:
                assert worker.alive(), f"worker {worker.number} died on its own:\n{worker.output()}"
            candidates = [w for w in workers if w.registered() is not None]
            due = status_counts(store).get("delivered", 0) >= targets[len(kills)]
            if not due or not candidates or time.monotonic() - last_kill < MIN_GAP:
                time.sleep(0.05)
                continue
            victim = rng.choice(candidates)
            kills.append(kill(victim, store, inbox, expected))
            last_kill = time.monotonic()
            workers.remove(victim)
            spawn()
        kills_done = time.monotonic()
        remaining_at_last_kill = INVOICES - status_counts(store).get("delivered", 0)

        def all_delivered() -> bool:
            counts = status_counts(store)
            assert not counts.get("failed"), f"deliveries failed: {counts}"
            return counts.get("delivered", 0) == INVOICES

        wait_until(all_delivered, 60 + INVOICES / 10, "every delivery to be delivered", everyone)
        run_seconds = time.monotonic() - run_started
        recovery_seconds = time.monotonic() - kills_done
    finally:
        for worker in workers:
            worker.stop()

    # ------------------------------------------------------------ the SFTP server's view
    on_server = sorted(os.listdir(inbox))
    assert [f for f in on_server if f.endswith(".partial")] == []
    assert len(on_server) == INVOICES
    assert set(on_server) == {e.name for e in expected.values()}
    for e in expected.values():
        assert hashlib.sha256((inbox / e.name).read_bytes()).hexdigest() == e.sha256, e.name

    # ------------------------------------------------------------ the gateway's records
    events: dict[str, list[Any]] = defaultdict(list)
    with store.engine.connect() as conn:
        for row in conn.execute(
            text(
                "SELECT delivery_id, status, previous, source, raw_code, evidence_sha256, attempt, "
                "created_at FROM events WHERE tenant_id = :t AND axis = 'transport' ORDER BY id"
            ),
            {"t": tenant_id},
        ):
            events[row.delivery_id].append(row)
        attempts = {
            str(d): int(n) for d, n in conn.execute(text("SELECT id, attempts FROM deliveries")).all()
        }
        evidence = {
            str(sha): bytes(content)
            for sha, content in conn.execute(
                text("SELECT sha256, content FROM evidence WHERE tenant_id = :t"), {"t": tenant_id}
            ).all()
        }

    def manifest_files(event: Any) -> list[dict[str, Any]]:
        record = json.loads(evidence[event.evidence_sha256])
        files: list[dict[str, Any]] = json.loads(evidence[record["sent_sha256"]])["files"]
        return files

    repeated = {d: n for d, n in attempts.items() if n > 1}
    outcomes: dict[str, str] = {}
    transient = 0
    for delivery_id, exp in expected.items():
        mine = events[delivery_id]
        claims = [e for e in mine if e.status == "sending"]
        recoveries = [e for e in mine if e.source == "worker-recovery" and e.previous == "sending"]
        retries = [e for e in mine if e.status == "retrying"]
        delivered = [e for e in mine if e.status == "delivered"]
        transient += len(retries)
        assert len(delivered) == 1, (delivery_id, [(e.previous, e.status, e.source) for e in mine])
        assert [c.attempt for c in claims] == list(range(1, attempts[delivery_id] + 1))
        # every attempt beyond the first is explained by a recorded recovery or transient failure
        assert len(recoveries) + len(retries) == attempts[delivery_id] - 1, delivery_id
        (event,) = delivered
        assert event.attempt == attempts[delivery_id]
        (sent,) = manifest_files(event)
        assert (sent["path"], sent["sha256"], sent["size"]) == (
            f"{inbox}/{exp.name}",
            exp.sha256,
            (inbox / exp.name).stat().st_size,
        )
        assert sent["outcome"] == event.raw_code, (delivery_id, sent, event.raw_code)
        outcomes[delivery_id] = event.raw_code
        if event.raw_code == "unchanged":
            # the file was already there: only a re-send after an interrupted attempt may find it
            assert attempts[delivery_id] > 1, delivery_id
            assert recoveries, delivery_id
        else:
            assert event.raw_code == "uploaded", (delivery_id, event.raw_code)

    # every delivery the victims were sending: recovered, and claimed again within the bound
    reruns: list[float] = []
    requeues: list[float] = []  # kill → the reconciler put the delivery back to queued
    reclaims: list[float] = []  # … → a worker claimed it again
    attributed: set[tuple[str, int]] = set()
    killed_again = 0  # recovered jobs whose next worker was killed too before claiming
    phases: dict[str, int] = defaultdict(int)
    for k in kills:
        for it in k.interrupted:
            phases[it.phase] += 1
            attributed.add((it.delivery_id, it.attempt))
            mine = events[it.delivery_id]
            recovered = [
                e
                for e in mine
                if e.source == "worker-recovery" and e.previous == "sending" and e.attempt == it.attempt
            ]
            assert recovered, (it, [(e.previous, e.status, e.source, e.attempt) for e in mine])
            (rerun,) = [e for e in mine if e.status == "sending" and e.attempt == it.attempt + 1]
            # the columns hold naive UTC
            requeued_at = recovered[0].created_at.replace(tzinfo=UTC)
            claimed_at = rerun.created_at.replace(tzinfo=UTC)
            # measured from the last kill that took its job: a later victim may have picked the
            # recovered job up and died before claiming the delivery (a second recovery)
            since = max(
                [k.at]
                + [
                    other.at
                    for other in kills
                    if k.at < other.at < claimed_at and it.delivery_id in other.held
                ]
            )
            if since != k.at:
                killed_again += 1
            reruns.append((claimed_at - since).total_seconds())
            requeues.append((requeued_at - k.at).total_seconds())
            reclaims.append((claimed_at - requeued_at).total_seconds())
            if it.phase == "after-rename":  # the final file was in place, unrecorded: a duplicate send
                assert outcomes[it.delivery_id] == "unchanged", it
    unattributed = sum(
        1
        for d, mine in events.items()
        for e in mine
        if e.source == "worker-recovery" and (d, e.attempt) not in attributed
    )
    assert reruns, "no kill caught a delivery in the middle of its attempt: the test proved nothing"

    unchanged = sum(1 for o in outcomes.values() if o == "unchanged")
    print(
        f"\nchaos (seed {seed}): {INVOICES} invoices stored in {stored_seconds:.1f} s; {WORKERS} workers "
        f"x {CONCURRENCY}, {len(kills)} SIGKILLs, {len(everyone)} worker processes in all\n"
        f"  delivered all {INVOICES} in {run_seconds:.1f} s ({remaining_at_last_kill} left at the last kill, "
        f"{recovery_seconds:.1f} s after it)\n"
        f"  deliveries sending when their worker was killed: {len(reruns)} "
        f"(before upload {phases['before-upload']}, mid-transfer {phases['mid-transfer']}, "
        f"after rename {phases['after-rename']}); other recoveries {unattributed}\n"
        f"  kill -> next attempt: max {max(reruns):.1f} s, median {statistics.median(reruns):.1f} s "
        f"(bound {RERUN_BOUND:g} s; from the later kill for {killed_again} whose recovered job was "
        f"taken by the next victim); of which kill -> requeued max {max(requeues):.1f} s, median "
        f"{statistics.median(requeues):.1f} s, requeued -> claimed max {max(reclaims):.1f} s, median "
        f"{statistics.median(reclaims):.1f} s\n"
        f"  repeated sends (attempts > 1): {len(repeated)}, of which found already in place and recorded "
        f"'unchanged': {unchanged}; transient failures {transient}\n"
        f"  SFTP server: {len(on_server)} files, {len(set(on_server))} names, 0 partials, all SHA-256 equal"
    )
    assert max(reruns) <= RERUN_BOUND, sorted(reruns)[-5:]
