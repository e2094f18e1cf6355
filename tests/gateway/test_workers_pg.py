"""Batches on PostgreSQL, worked by ``gateway worker --processes 2`` (real processes).

The batch is stored and its chunk jobs deferred exactly as ``POST /v1/batches`` does; a
supervisor with two children renders, validates, stores and delivers it. One child is
killed with SIGKILL mid-run: the supervisor starts another, the reconciler hands the dead
child's jobs back, and every invoice is stored and delivered once. SIGTERM stops the lot.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from gateway import batch_jobs, batches
from gateway.recipients import RecipientIn
from gateway.secretbox import MASTER_KEY_ENV, SecretBox, generate_master_key
from gateway.store import Store, repository
from gateway.store.models import BatchItem, Delivery, Invoice
from gateway.store.testing import migrated_store
from tests.gateway.api.conftest import folder_recipient, invoice_json
from tests.gateway.cli_env import cli_env

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 60
T = TypeVar("T")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with migrated_store("postgresql", tmp_path) as st:
        yield st


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def two_children(pid: int, without: int | None = None) -> list[int] | None:
    now = children_of(pid)
    return now if len(now) == 2 and without not in now else None


def wait_for(predicate: Callable[[], T | None], seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {seconds} s")


def test_two_worker_processes_work_a_batch_and_survive_a_killed_child(store: Store, tmp_path: Path) -> None:
    key = generate_master_key()
    box = SecretBox.from_env({MASTER_KEY_ENV: key})
    env = {
        **cli_env(GATEWAY_DATABASE_URL=store.url, GATEWAY_HOME=str(tmp_path / "home")),
        MASTER_KEY_ENV: key,
    }
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    with store.session() as s:
        tenant, _ = repository.create_tenant(s, "acme")
        recipient = repository.create_recipient(
            s, tenant.id, RecipientIn.model_validate(folder_recipient(outbox)), box
        )
        items = [json.dumps(invoice_json(f"W-{i:04d}")).encode() for i in range(ITEMS)]
        batch, _ = batches.create_batch(s, tenant.id, recipient.id, items)
        jobs = batch_jobs.defer_batch(s, tenant.id, batch.id, batch.total, chunk=5)
        tenant_id, batch_id = tenant.id, batch.id
    assert jobs == ITEMS // 5

    log = tmp_path / "workers.log"
    log_file = log.open("wb")
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "gateway", "worker", "--processes", "2", "--concurrency", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    try:
        first = wait_for(lambda: two_children(supervisor.pid), 30, "two children")

        def accepted() -> int:
            with store.session() as s:
                return int(
                    s.scalar(
                        select(func.count())
                        .select_from(BatchItem)
                        .where(BatchItem.batch_id == batch_id, BatchItem.status == "accepted")
                    )
                    or 0
                )

        wait_for(lambda: accepted() >= 5, 120, "the first invoices accepted")
        os.kill(first[0], signal.SIGKILL)
        replaced = wait_for(
            lambda: two_children(supervisor.pid, without=first[0]), 30, "the killed child replaced"
        )
        assert first[0] not in replaced

        def all_delivered() -> bool:
            with store.session() as s:
                statuses = s.scalars(select(Delivery.status).where(Delivery.tenant_id == tenant_id)).all()
            return accepted() == ITEMS and len(statuses) == ITEMS and set(statuses) == {"delivered"}

        wait_for(all_delivered, 180, "every invoice accepted and delivered")
        with store.session() as s:
            numbers = s.scalars(select(Invoice.number).where(Invoice.tenant_id == tenant_id)).all()
        assert sorted(numbers) == [f"W-{i:04d}" for i in range(ITEMS)]  # each once
        delivered = sorted(p.name for p in outbox.rglob("*") if p.is_file())
        assert len(delivered) == len(set(delivered)) >= ITEMS
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            code = supervisor.wait(60)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            raise
        log_file.close()
        stderr = log.read_text(errors="replace")
    assert code == 0, stderr[-2000:]
    assert children_of(supervisor.pid) == []
    assert "Traceback" not in stderr, stderr[-3000:]
