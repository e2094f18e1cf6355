"""Supervised validator processes: Saxon never runs in the process that serves users.

``ValidatorPool(jobs=N)`` starts N worker processes (``spawn``: a fresh interpreter each,
nothing inherited), each with its own ``Engine`` whose compiled XSLTs stay warm. Work is
handed out by one dispatcher thread; ``submit()`` returns a ``Future[Report]`` and is safe
to call from many threads (the API) or in a batch (the CLI).

Faults are contained and never read as "valid":

* a worker that dies mid-document (a Saxon crash, the OOM killer) is replaced; the
  document is tried once more on the fresh worker, and if that crashes too its report
  carries an ``error`` layer saying so;
* a document that takes longer than ``timeout`` seconds has its worker killed and
  replaced, and gets an ``error`` layer;
* a worker whose resident memory grows past ``max_rss_mb`` finishes its document and is
  replaced before the next one.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from schemas.report import LayerResult, Report, Validity

DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_RSS_MB = 1024
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return 0.0


def _worker_main(conn: Connection, rules_dir: str | None, keep_svrl: bool, max_rss_mb: float) -> None:
    """Worker loop: receive (id, name, data-or-path, set id), send back the report dict."""
    if rules_dir:
        os.environ["GATEWAY_RULES_DIR"] = rules_dir
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged PDFs are reported, not logged
    from schemas.artefacts import RuleStore
    from schemas.engine import Engine

    engine = Engine(store=RuleStore(), keep_svrl=keep_svrl)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, name, payload, set_id = message
        if isinstance(payload, str):
            try:
                size = os.path.getsize(payload)
                if size > MAX_DOCUMENT_BYTES:
                    conn.send(
                        (
                            job_id,
                            {
                                "document": name,
                                "error": f"the document is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}",
                            },
                            rss_mb(),
                        )
                    )
                    continue
                data = Path(payload).read_bytes()
            except OSError as exc:
                conn.send((job_id, {"document": name, "error": f"cannot read: {exc.strerror}"}, rss_mb()))
                continue
        else:
            data = payload
        _inject_fault(name)
        report = engine.validate(data, name, set_id)
        result = report.as_dict()
        if keep_svrl:
            result["svrl"] = [layer.svrl for layer in report.layers if layer.svrl]
        memory = rss_mb()
        conn.send((job_id, result, memory))
        if max_rss_mb and memory > max_rss_mb:
            return  # the supervisor starts a fresh worker


def _inject_fault(name: str) -> None:
    """Fault injection for the pool's own tests, driven by ``GATEWAY_FAULT_INJECTION``.

    ``crash:NAME`` kills the worker (as a Saxon segfault would) when it gets document NAME;
    ``crash-once:NAME:MARKER`` does so only while the file MARKER does not exist yet;
    ``hang:NAME`` never returns. Unset in production, where this does nothing.
    """
    spec = os.environ.get("GATEWAY_FAULT_INJECTION")
    if not spec:
        return
    kind, _, rest = spec.partition(":")
    target, _, marker = rest.partition(":")
    if target != name:
        return
    if kind == "crash-once":
        if Path(marker).exists():
            return
        Path(marker).touch()
        kind = "crash"
    if kind == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "hang":
        time.sleep(3600)


@dataclass
class _Job:
    id: int
    name: str
    payload: bytes | str
    set_id: str | None
    future: Future[Report]
    attempts: int = 0
    started: float = 0.0


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: _Job | None = None
    last_rss: float = 0.0


@dataclass
class PoolStats:
    started_workers: int = 0
    crashes: int = 0
    timeouts: int = 0
    recycled: int = 0
    max_rss_mb: float = 0.0
    rss_by_worker: dict[int, float] = field(default_factory=dict)


class ValidatorPool:
    """N supervised validator processes behind one thread-safe ``submit``."""

    def __init__(
        self,
        jobs: int = 1,
        *,
        rules_dir: str | None = None,
        keep_svrl: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        max_rss_mb: float = DEFAULT_MAX_RSS_MB,
    ) -> None:
        self.jobs = max(1, jobs)
        self.rules_dir = rules_dir or os.environ.get("GATEWAY_RULES_DIR")
        self.keep_svrl = keep_svrl
        self.timeout = timeout
        self.max_rss_mb = max_rss_mb
        self.stats = PoolStats()
        self._ctx = mp.get_context("spawn")
        self._pending: queue.Queue[_Job | None] = queue.Queue()
        self._backlog: deque[_Job] = deque()
        self._workers: list[_Worker] = []
        self._next_id = 0
        self._lock = threading.Lock()
        self._closed = False
        self._wakeup_r, self._wakeup_w = self._ctx.Pipe(duplex=False)
        self._thread = threading.Thread(target=self._dispatch, name="validator-pool", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public

    def submit(self, data: bytes | Path, name: str, set_id: str | None = None) -> Future[Report]:
        future: Future[Report] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the validator pool is closed")
            self._next_id += 1
            payload: bytes | str = str(data) if isinstance(data, Path) else data
            self._pending.put(_Job(self._next_id, name, payload, set_id, future))
        self._wakeup_w.send_bytes(b"x")
        return future

    def validate(self, data: bytes | Path, name: str = "document", set_id: str | None = None) -> Report:
        return self.submit(data, name, set_id).result()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pending.put(None)
        self._wakeup_w.send_bytes(b"x")
        self._thread.join(timeout=30)

    def __enter__(self) -> ValidatorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ dispatcher

    def _start_worker(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, self.rules_dir, self.keep_svrl, self.max_rss_mb),
            daemon=True,
            name="validator",
        )
        process.start()
        child.close()
        self.stats.started_workers += 1
        return _Worker(process, parent)

    def _dispatch(self) -> None:
        stopping = False
        while True:
            stopping = self._drain_pending() or stopping
            if stopping and not self._backlog and all(w.job is None for w in self._workers):
                break
            self._assign()
            waitables: list[Any] = [self._wakeup_r]
            for worker in self._workers:
                waitables += [worker.conn, worker.process.sentinel]
            timeout = self._next_deadline()
            for ready in wait(waitables, timeout=timeout):
                if ready is self._wakeup_r:
                    with contextlib.suppress(EOFError, OSError):
                        self._wakeup_r.recv_bytes()
            self._collect()
            self._enforce_timeouts()
        for worker in self._workers:
            with contextlib.suppress(OSError, BrokenPipeError):
                worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
        self._workers.clear()

    def _drain_pending(self) -> bool:
        stopping = False
        while True:
            try:
                job = self._pending.get_nowait()
            except queue.Empty:
                return stopping
            if job is None:
                stopping = True
            else:
                self._backlog.append(job)

    def _assign(self) -> None:
        while self._backlog:
            idle = next((w for w in self._workers if w.job is None and w.process.is_alive()), None)
            if idle is None:
                if len(self._workers) >= self.jobs:
                    return
                idle = self._start_worker()
                self._workers.append(idle)
            job = self._backlog.popleft()
            if job.future.cancelled():
                continue
            job.attempts += 1
            job.started = time.monotonic()
            idle.job = job
            try:
                idle.conn.send((job.id, job.name, job.payload, job.set_id))
            except (OSError, BrokenPipeError):
                self._replace(idle, crashed=True)

    def _next_deadline(self) -> float | None:
        running = [w.job.started for w in self._workers if w.job is not None]
        if not running:
            return None
        return max(0.05, min(running) + self.timeout - time.monotonic())

    def _collect(self) -> None:
        for worker in list(self._workers):
            try:
                has_data = worker.conn.poll()
            except (OSError, EOFError):
                has_data = False
            if has_data:
                try:
                    job_id, result, memory = worker.conn.recv()
                except (EOFError, OSError):
                    self._replace(worker, crashed=True)
                    continue
                job, worker.job = worker.job, None
                worker.last_rss = memory
                self.stats.max_rss_mb = max(self.stats.max_rss_mb, memory)
                self.stats.rss_by_worker[worker.process.pid] = memory
                if job is not None and job.id == job_id and not job.future.done():
                    job.future.set_result(_report_from(result))
                if self.max_rss_mb and memory > self.max_rss_mb:
                    self.stats.recycled += 1
                    self._replace(worker, crashed=False)
            elif not worker.process.is_alive():
                self._replace(worker, crashed=worker.job is not None)

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            job = worker.job
            if job is not None and now - job.started > self.timeout:
                self.stats.timeouts += 1
                worker.process.kill()
                worker.process.join(timeout=5)
                worker.job = None
                self._workers.remove(worker)
                job.future.set_result(
                    _failed(job, f"validation took longer than {self.timeout:.0f} s and was stopped")
                )

    def _replace(self, worker: _Worker, *, crashed: bool) -> None:
        job, worker.job = worker.job, None
        with contextlib.suppress(ValueError):
            self._workers.remove(worker)
        self.stats.rss_by_worker.pop(worker.process.pid, None)
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        code = worker.process.exitcode
        if crashed and job is not None:
            self.stats.crashes += 1
            if job.attempts < 2:
                self._backlog.appendleft(job)  # once more, on a fresh worker
            elif not job.future.done():
                job.future.set_result(
                    _failed(
                        job,
                        f"the validator process stopped unexpectedly (exit code {code}) twice "
                        "while validating this document; it was not validated",
                    )
                )


def _report_from(result: dict[str, Any]) -> Report:
    report = Report.from_dict(result)
    svrl = result.get("svrl")
    if svrl:
        schematron = [
            layer
            for layer in report.layers
            if layer.kind == "schematron" and layer.validity in (Validity.VALID, Validity.INVALID)
        ]
        for layer, text in zip(schematron, svrl, strict=False):
            layer.svrl = text
    return report


def _failed(job: _Job, message: str) -> Report:
    report = Report(document=job.name)
    report.layers.append(LayerResult("validator process", "process", Validity.ERROR, message=message))
    return report
