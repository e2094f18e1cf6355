"""``gateway worker --processes N``: N worker processes on this machine, kept running.

Rendering and validating a batch's invoices is CPU-bound Python (and Saxon) under one GIL per
process, so the way to use a machine's cores is processes: this supervisor starts N
``gateway worker`` children (each runs jobs in ``--concurrency`` threads), restarts one that
dies (a crash, the OOM killer, ``kill -9``) after a short backoff, and on SIGTERM/SIGINT
passes the signal on and waits for them to finish their running jobs. A child's jobs, when it
dies, are recovered by the other workers' reconciler (``gateway.jobs``): the supervisor only
brings the capacity back.

The children are plain ``python -m gateway worker`` processes with the same environment, so
running N of them by hand (or under systemd, Kubernetes) is the same thing; the supervisor
is the convenience for one machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from gateway.logging import get_logger

__all__ = ["RESTART_BACKOFF_MAX", "Supervisor", "child_command"]

RESTART_BACKOFF_MIN = 1.0
RESTART_BACKOFF_MAX = 30.0
HEALTHY_AFTER = 60.0  # a child that ran this long resets its backoff
STOP_GRACE = 45.0  # the children's own graceful timeout is 30 s

_log = get_logger("gateway.workers")


def child_command(concurrency: int, metrics_port: int | None = None) -> list[str]:
    command = [sys.executable, "-m", "gateway", "worker", "--concurrency", str(concurrency)]
    if metrics_port is not None:
        command += ["--metrics-port", str(metrics_port)]
    return command


@dataclass
class _Child:
    slot: int
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff: float = RESTART_BACKOFF_MIN
    restart_at: float = 0.0
    restarts: int = 0


@dataclass
class Supervisor:
    """Keeps ``len(commands)`` children running until ``stop()`` (or a signal)."""

    commands: Sequence[Sequence[str]]
    env: dict[str, str] | None = None
    poll: float = 0.5
    _children: list[_Child] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._children = [_Child(slot, list(command)) for slot, command in enumerate(self.commands)]

    def pids(self) -> list[int]:
        return [c.process.pid for c in self._children if c.process is not None and c.process.poll() is None]

    def restarts(self) -> int:
        return sum(c.restarts for c in self._children)

    def _start(self, child: _Child) -> None:
        child.process = subprocess.Popen(child.command, env=self.env)  # noqa: S603 (our own interpreter)
        child.started = time.monotonic()
        _log.info("worker.child_started", slot=child.slot, pid=child.process.pid, restarts=child.restarts)

    def _check(self, child: _Child, now: float) -> None:
        process = child.process
        if process is None:
            if now >= child.restart_at:
                self._start(child)
            return
        code = process.poll()
        if code is None:
            return
        ran = now - child.started
        child.backoff = (
            RESTART_BACKOFF_MIN if ran >= HEALTHY_AFTER else min(child.backoff * 2, RESTART_BACKOFF_MAX)
        )
        delay = child.backoff
        child.process = None
        child.restart_at = now + delay
        child.restarts += 1
        _log.warning(
            "worker.child_exited",
            slot=child.slot,
            pid=process.pid,
            code=code,
            ran=round(ran, 1),
            restart_in=delay,
        )

    def run(self, install_signals: bool = True) -> int:
        """Run until stopped; returns 0 (each child's running jobs finished or were handed back)."""
        if install_signals:
            self._install_signals()
        for child in self._children:
            self._start(child)
        while not self._stopping.wait(self.poll):
            now = time.monotonic()
            for child in self._children:
                self._check(child, now)
        return self._shutdown()

    def stop(self) -> None:
        self._stopping.set()

    def _install_signals(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _shutdown(self) -> int:
        running = [c.process for c in self._children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _log.warning(
                    "worker.child_killed",
                    pid=process.pid,
                    reason=f"still running {STOP_GRACE:g} s after SIGTERM",
                )
                process.kill()
                process.wait(5)
        _log.info("worker.supervisor_stopped", restarts=self.restarts())
        return 0


def supervise(
    processes: int,
    concurrency: int,
    *,
    metrics_port: int | None = None,
    command: Callable[[int, int | None], list[str]] = child_command,
) -> int:
    """``gateway worker --processes N`` (N ≥ 2): the children get consecutive metrics ports."""
    commands = [
        command(concurrency, None if metrics_port is None else metrics_port + slot)
        for slot in range(processes)
    ]
    return Supervisor(commands, env=dict(os.environ)).run()
