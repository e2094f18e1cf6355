"""Scale-out: a billing run through the API to SFTP on PostgreSQL, with 1 and with 2 workers.

    python -m bench.scale [--invoices 10000] [--batch-size 500] [--workers 1,2] [--concurrency 4]

For each worker count W, on a fresh PostgreSQL database (127.0.0.1:5432) and a real OpenSSH
sshd on loopback: ``gateway serve`` (the API) and ``gateway worker --processes W`` start as
in production; ``--invoices`` Peppol BIS UBL invoices (the official Peppol rules, when the
corpus rule packs are there; EN 16931 otherwise) are posted to ``POST /v1/batches``; the
workers render, validate, store and deliver each one to the SFTP server. Printed per run:

* invoices/s end to end: invoices / (last delivered − first batch accepted);
* p50 / p99 time to delivered: from its batch's 202 to its delivery's ``delivered``;
* peak RSS (VmHWM) of the API and of each worker process, and each worker's RSS at a quarter
  and at the end of the run (memory flat: within 10 %);
* CPU per invoice of each part (workers, API, PostgreSQL, sshd), read from /proc: what the
  extrapolation in docs/scaling.md is made of;
* a check on the SFTP server: one file per invoice, SHA-256 equal to the stored UBL.

The anchor is the 1-worker run measured in the same invocation: the ratio 2 workers / 1
worker is printed with the targets (≥ 1.7×, ≥ 100 invoices/s with 2 workers, memory flat).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from bench.service import children, cpu_seconds, install_rules, invoice_bodies, rss_mb, status_mb

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "de-domestic-b2b.json"
PY = sys.executable
TARGETS = {"ratio": 1.7, "rate": 100.0, "rss_growth_pct": 10.0}


def hwm_mb(pid: int) -> float:
    return status_mb(pid, "VmHWM:")


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    todo, found = [pid], []
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def cpu_of(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


@dataclass
class Run:
    workers: int
    invoices: int
    rate: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    accept_seconds: float = 0.0
    seconds: float = 0.0
    api_hwm: float = 0.0
    worker_hwm: list[float] = field(default_factory=list)
    worker_rss_quarter: list[float] = field(default_factory=list)
    worker_rss_end: list[float] = field(default_factory=list)
    cpu_ms: dict[str, float] = field(default_factory=dict)
    files: int = 0
    mismatched: int = 0
    restarts: int = 0
    refused: int = 0
    wal_kb: float = 0.0
    file_kb: float = 0.0

    @property
    def rss_growth_pct(self) -> float:
        pairs = [(a, b) for a, b in zip(self.worker_rss_quarter, self.worker_rss_end, strict=False) if a]
        return max((100 * (b - a) / a for a, b in pairs), default=0.0)


@contextlib.contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            for pid in descendants(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait(10)


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx2.HTTPError):
            if httpx2.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def one_run(args: argparse.Namespace, workers: int, rules_dir: Path, profile: str) -> Run:
    from sqlalchemy import text

    from gateway.secretbox import MASTER_KEY_ENV, SecretBox, generate_master_key
    from gateway.store import Store, repository
    from gateway.store.migrate import migrate
    from gateway.store.testing import fresh_database
    from tests.connectors import sshd

    run = Run(workers=workers, invoices=args.invoices)
    bodies = invoice_bodies(args.invoices, f"S{workers}")
    key = generate_master_key()
    with (
        tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp,
        fresh_database(prefix="bench_scale") as url,
    ):
        root = Path(tmp)
        inbox = root / "in"
        inbox.mkdir()
        store = Store(url)
        migrate(store)
        with store.session() as s:
            tenant, api_key = repository.create_tenant(s, "bench")
            tenant_id = tenant.id
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": url,
            MASTER_KEY_ENV: key,
            "GATEWAY_HOME": str(root / "home"),
            "GATEWAY_RULES_DIR": str(rules_dir),
            "NO_COLOR": "1",
        }
        port = sshd.free_port()
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {api_key}"}
        with (
            sshd.running(root / "sshd") as server,
            started([PY, "-m", "gateway", "serve", "--port", str(port)], env, root / "api.log") as api,
        ):
            wait_http(f"{base}/readyz")
            buyer = json.loads(EXAMPLE.read_text(encoding="utf-8"))["buyer"]
            recipient = {
                "name": "scale-buyer",
                "buyer": buyer,
                "formats": [{"kind": "ubl", "profile": profile}],
                "channels": [
                    {
                        "type": "sftp",
                        "name": "sftp",
                        "settings": server.settings(f"{inbox}/{{invoice_number}}.xml"),
                        "secrets": {"private_key": server.client_key_pem},
                    }
                ],
            }
            made = httpx2.post(f"{base}/v1/recipients", json=recipient, headers=headers, timeout=30)
            if made.status_code != 201:
                raise RuntimeError(f"recipient: {made.status_code} {made.text}")
            recipient_id = made.json()["id"]
            worker_cmd = [PY, "-m", "gateway", "worker", "--processes", str(workers)]
            worker_cmd += ["--concurrency", str(args.concurrency)]
            if workers == 1:  # one process: the worker itself, no supervisor in between
                worker_cmd = [PY, "-m", "gateway", "worker", "--concurrency", str(args.concurrency)]
            with started(worker_cmd, env, root / "workers.log") as supervisor:
                worker_pids = wait_workers(supervisor.pid, workers)
                with httpx2.Client(base_url=base, headers=headers, timeout=120) as client:

                    def post(items: list[bytes], key: str) -> str:
                        body = b'{"recipient": "' + recipient_id.encode() + b'", "invoices": ['
                        body += b",".join(items) + b"]}"
                        answer = client.post(
                            "/v1/batches",
                            content=body,
                            headers={"Content-Type": "application/json", "Idempotency-Key": key},
                        )
                        if answer.status_code != 202:
                            raise RuntimeError(f"batch {key}: {answer.status_code} {answer.text[:500]}")
                        return str(answer.json()["id"])

                    # warm-up, not measured: every worker compiles the rules and opens its pools
                    warm = invoice_bodies(args.warm_per_worker * workers, f"W{workers}")
                    warm_batch = post(warm, "warm")
                    wait_delivered(store, len(warm), 300)
                    pg_before = cpu_of(pids_named("postgres"))
                    wal_before = wal_lsn(store)
                    sshd_pids = (
                        [server.process.pid, *descendants(server.process.pid)] if server.process else []
                    )
                    sshd_before = cpu_of(sshd_pids)
                    api_before = cpu_seconds(api.pid)
                    workers_before = cpu_of(current_workers(supervisor.pid, workers))
                    t0 = time.time()
                    for start in range(0, len(bodies), args.batch_size):
                        post(bodies[start : start + args.batch_size], f"scale-{start}")
                run.accept_seconds = time.time() - t0
                quarter_done = False
                deadline = time.monotonic() + args.timeout
                while True:
                    with store.session() as s:
                        delivered, refused = s.execute(
                            text(
                                "SELECT (SELECT count(*) FROM deliveries WHERE status = 'delivered'), "
                                "(SELECT count(*) FROM batch_items WHERE status = 'refused')"
                            )
                        ).one()
                    delivered -= len(warm)
                    if not quarter_done and delivered >= args.invoices // 4:
                        run.worker_rss_quarter = [rss_mb(p) for p in current_workers(supervisor.pid, workers)]
                        quarter_done = True
                    if delivered + refused >= args.invoices:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"only {delivered} of {args.invoices} delivered in {args.timeout} s"
                        )
                    time.sleep(0.25)
                run.refused = int(refused)
                run.wal_kb = (wal_lsn(store) - wal_before) / 1024 / max(1, args.invoices)
                now_workers = current_workers(supervisor.pid, workers)
                run.worker_rss_end = [rss_mb(p) for p in now_workers]
                run.worker_hwm = [hwm_mb(p) for p in now_workers]
                run.restarts = len(set(now_workers) - set(worker_pids))
                run.api_hwm = hwm_mb(api.pid)
                worker_cpu = cpu_of(now_workers) - workers_before
                n = max(1, args.invoices)
                run.cpu_ms = {
                    "workers": 1000 * worker_cpu / n,
                    "API": 1000 * (cpu_seconds(api.pid) - api_before) / n,
                    "PostgreSQL": 1000 * (cpu_of(pids_named("postgres")) - pg_before) / n,
                    "sshd": 1000
                    * (
                        (
                            cpu_of([server.process.pid, *descendants(server.process.pid)])
                            if server.process
                            else 0.0
                        )
                        - sshd_before
                    )
                    / n,
                }
            with store.session() as s:
                accepted_at: dict[str, Any] = dict(
                    s.execute(
                        text("SELECT id, created_at FROM batches WHERE id <> :w"), {"w": warm_batch}
                    ).all()
                )
                rows = s.execute(
                    text(
                        "SELECT b.batch_id, d.updated_at, i.number, doc.sha256 FROM deliveries d "
                        "JOIN batch_items b ON b.invoice_id = d.invoice_id "
                        "JOIN invoices i ON i.id = d.invoice_id "
                        "JOIN documents doc ON doc.invoice_id = d.invoice_id AND doc.kind = 'ubl' "
                        "WHERE d.status = 'delivered' AND d.tenant_id = :t AND b.batch_id <> :w"
                    ),
                    {"t": tenant_id, "w": warm_batch},
                ).all()
        store.dispose()
        latencies = sorted(
            (delivered - accepted_at[batch]).total_seconds() for batch, delivered, _, _ in rows
        )
        first = min(accepted_at.values())
        last = max(delivered for _, delivered, _, _ in rows)
        run.seconds = (last - first).total_seconds()
        run.rate = len(rows) / run.seconds if run.seconds else 0.0
        run.p50 = statistics.median(latencies)
        run.p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        on_server = {p.name: p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("BENCH-W")}
        run.files = len(on_server)
        run.file_kb = sum(p.stat().st_size for p in on_server.values()) / 1024 / max(1, len(on_server))
        expected = {f"{number}.xml": sha for _, _, number, sha in rows}
        run.mismatched = sum(
            1
            for name, sha in expected.items()
            if name not in on_server or hashlib.sha256(on_server[name].read_bytes()).hexdigest() != sha
        ) + len(set(on_server) - set(expected))
        del SecretBox
    return run


def wal_lsn(store: Any) -> int:
    """The server's WAL position in bytes (the whole cluster: run the bench on a quiet server)."""
    from sqlalchemy import text

    with store.session() as s:
        return int(s.scalar(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")) or 0)


def wait_delivered(store: Any, n: int, seconds: float) -> None:
    from sqlalchemy import text

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with store.session() as s:
            if int(s.scalar(text("SELECT count(*) FROM deliveries WHERE status = 'delivered'")) or 0) >= n:
                return
        time.sleep(0.25)
    raise RuntimeError(f"the warm-up invoices were not delivered within {seconds} s")


def current_workers(supervisor: int, workers: int) -> list[int]:
    return [supervisor] if workers == 1 else children(supervisor)


def wait_workers(supervisor: int, workers: int, seconds: float = 60) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = current_workers(supervisor, workers)
        if len(now) == workers:
            return now
        time.sleep(0.1)
    raise RuntimeError(f"{workers} worker processes did not start within {seconds} s")


def report(run: Run) -> None:
    hwm = ", ".join(f"{m:.0f}" for m in run.worker_hwm)
    quarter = ", ".join(f"{m:.0f}" for m in run.worker_rss_quarter)
    end = ", ".join(f"{m:.0f}" for m in run.worker_rss_end)
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in run.cpu_ms.items())
    print(
        f"{run.workers} worker process(es): {run.invoices} invoices, "
        f"batches accepted in {run.accept_seconds:.1f} s"
    )
    print(
        f"  end to end          : {run.rate:7.1f} invoices/s ({run.seconds:.1f} s, accepted → last delivered)"
    )
    print(f"  time to delivered   : p50 {run.p50:.1f} s, p99 {run.p99:.1f} s (from the batch's 202)")
    print(f"  peak RSS            : API {run.api_hwm:.0f} MB, workers [{hwm}] MB")
    print(f"  worker RSS 25%→100% : [{quarter}] → [{end}] MB (growth {run.rss_growth_pct:+.1f} %)")
    print(f"  CPU ms per invoice  : {cpu}")
    print(f"  per invoice         : {run.wal_kb:.1f} kB of PostgreSQL WAL, {run.file_kb:.1f} kB to SFTP")
    print(
        f"  SFTP server         : {run.files} files, {run.mismatched} missing/extra/different; "
        f"refused {run.refused}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker process counts")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker process")
    parser.add_argument("--warm-per-worker", type=int, default=80, help="invoices run before measuring")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    from tests.connectors import sshd

    reason = sshd.available()
    if reason is not None:
        sys.exit(f"bench.scale needs OpenSSH's sshd: {reason}")
    print(
        f"bench.scale: {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"
    )
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as rules:
        profile = install_rules(Path(rules))
        print(f"UBL profile {profile}; SFTP on loopback (OpenSSH); PostgreSQL 127.0.0.1:5432")
        for workers in [int(w) for w in args.workers.split(",")]:
            run = one_run(args, workers, Path(rules), profile)
            report(run)
            runs.append(run)
    by = {r.workers: r for r in runs}
    if 1 in by and 2 in by and by[1].rate:
        ratio = by[2].rate / by[1].rate
        print(f"ratio 2 workers / 1 worker: {ratio:.2f}x (target ≥ {TARGETS['ratio']}x)")
        print(f"2 workers: {by[2].rate:.1f} invoices/s (target ≥ {TARGETS['rate']:.0f})")
        growth = max(r.rss_growth_pct for r in runs)
        print(
            f"worst worker RSS growth 25%→100%: {growth:+.1f} % (target ≤ {TARGETS['rss_growth_pct']:.0f} %)"
        )


if __name__ == "__main__":
    main()
