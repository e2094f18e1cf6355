"""Benchmark: the gateway service under load, against the same pipeline run in process.

The figure: ``POST /v1/invoices`` on ``gateway serve`` (a subprocess, loopback, the embedded
SQLite store under a temporary ``GATEWAY_HOME``, the in-process delivery runner, one folder
channel) with 2,000 distinct Peppol BIS 3.0 UBL invoices from 32 concurrent clients (asyncio
+ httpx2, one keep-alive connection each, closed loop: a client sends its next invoice when
the previous one is answered), each with its own ``Idempotency-Key``. The invoices are
``examples/de-domestic-b2b.json`` (both electronic addresses on the Peppol scheme 9930) with
the number, the remittance text and the first line's quantity varied. Printed: accepted/s,
p50/p99 latency, errors (anything but 202), the time until every delivery is ``delivered``
(the store polled read-only), and the resident memory of the server process (and of its
validator workers) idle, after a warm-up, at the middle and at the end of the load.

The anchor, measured in this run: the limit — the same pipeline in this process without
HTTP and storage: ``gateway.pipeline.read_source`` + ``_render`` + ``_validate`` with one
warm ``schemas.engine.Engine`` (what ``submit()`` does minus the idempotency lookup, the
recipient lookup and the store), single process, over the same invoices (time-boxed).

Targets: accepted/s >= 0.6x the limit; p99 <= 250 ms; zero errors; RSS flat (server process:
end - middle <= 10 % or <= 30 MB).

Where the time goes (``--breakdown``, on by default): per invoice, reading (calculate and
check), rendering, validating with the in-process engine and through ``ValidatorPool`` (the
server's validator: worker process, SVRL kept), and the whole ``submit()`` against a
throwaway SQLite store (the store's share is the difference). ``--profile`` adds cProfile of
the limit.

The Peppol rule pack comes from the shared corpus (``gateway rules install`` of
``rules`` and ``rules-compiled`` into the temporary ``GATEWAY_RULES_DIR``); without the corpus
the invoices go out as EN 16931 UBL instead, and the header says so.

    .venv/bin/python -m bench.service [--invoices N] [--clients C] [--validate-jobs 1,2]
                                      [--limit-seconds S] [--no-breakdown] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx2

from bench.ubl import _mark

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "de-domestic-b2b.json"
CORPUS = Path(os.environ.get("GATEWAY_CORPUS", "/work/shared/corpus"))
RULE_PACKS = ("rules", "rules-compiled")
TARGETS = {"ratio": 0.6, "p99_ms": 250.0, "rss_pct": 10.0, "rss_mb": 30.0}
TENANT = "bench"
PY = sys.executable

# ---------------------------------------------------------------- the invoices


def invoice_bodies(n: int, run: str) -> list[bytes]:
    """``n`` distinct canonical JSON invoices: number, remittance text and a quantity vary."""
    base = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    out = []
    for i in range(n):
        data = copy.deepcopy(base)
        number = f"BENCH-{run}-{i:06d}"
        data["number"] = number
        data["payment_instructions"]["remittance_information"] = number
        data["lines"][0]["quantity"] = 1 + i % 97
        out.append(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    return out


def recipient_json(folder: Path, profile: str) -> dict[str, Any]:
    base = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return {
        "name": "bench-buyer",
        "buyer": base["buyer"],
        "formats": [{"kind": "ubl", "profile": profile}],
        "channels": [{"type": "folder", "name": "out", "settings": {"path": str(folder)}}],
    }


# ---------------------------------------------------------------- the rules


def install_rules(rules_dir: Path) -> str:
    """The UBL profile the run can validate: ``peppol`` with the corpus packs, else ``en16931``."""
    env = {**os.environ, "GATEWAY_RULES_DIR": str(rules_dir)}
    packs = [CORPUS / name for name in RULE_PACKS]
    if not all(p.is_dir() for p in packs):
        return "en16931"
    for pack in packs:
        subprocess.run(
            [PY, "-m", "gateway", "rules", "install", str(pack)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return "peppol"


# ---------------------------------------------------------------- memory


def rss_mb(pid: int) -> float:
    return status_mb(pid, "VmRSS:")


def status_mb(pid: int, key: str) -> float:
    """A memory line of /proc/<pid>/status (``VmRSS:``, ``VmHWM:`` …) in MB; 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """Direct children (the validator workers, multiprocessing's helpers) from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Cpu:
    server: float
    workers: float
    client: float

    @classmethod
    def of(cls, pid: int) -> Cpu:
        return cls(cpu_seconds(pid), sum(cpu_seconds(c) for c in children(pid)), time.process_time())


@dataclass
class Memory:
    server: float
    workers: float

    @classmethod
    def of(cls, pid: int) -> Memory:
        return cls(rss_mb(pid), sum(rss_mb(c) for c in children(pid)))

    def __str__(self) -> str:
        return f"{self.server:6.1f} MB (+ workers {self.workers:6.1f} MB)"


# ---------------------------------------------------------------- the limit


@dataclass
class Limit:
    rate: float  # invoices/s, read + render + validate
    count: int
    read_ms: float
    render_ms: float
    validate_ms: float
    profile: str = ""


def measure_limit(bodies: list[bytes], profile: str, seconds: float, do_profile: bool) -> Limit:
    """The pipeline in process, minus HTTP and the store: what ``submit()`` computes."""
    from gateway.pipeline import PipelineContext, _render, _validate, read_source
    from gateway.secretbox import SecretBox
    from schemas.engine import Engine

    ctx = PipelineContext(engine=Engine(), box=SecretBox(os.urandom(32)))
    formats = [{"kind": "ubl", "profile": profile}]

    def one(body: bytes, times: list[float] | None = None) -> None:
        t0 = time.perf_counter()
        source = read_source(body, "application/json", ctx.settings.rounding)
        t1 = time.perf_counter()
        problems: list[Any] = []
        rendered = _render(source, body, formats, ctx, problems)
        t2 = time.perf_counter()
        _validate(rendered, ctx.engine)
        t3 = time.perf_counter()
        if problems or source.problems or not all(r.report and r.report.valid for r in rendered):
            raise SystemExit(
                f"the limit refused an invoice ({problems or source.problems}): nothing to measure"
            )
        if times is not None:
            times += (t1 - t0, t2 - t1, t3 - t2)

    for body in bodies[:3]:  # warm-up: XSLT compilation, code lists, pydantic
        one(body)
    stages: list[float] = []
    count = 0
    start = time.perf_counter()
    for body in bodies:
        one(body, stages)
        count += 1
        if time.perf_counter() - start >= seconds:
            break
    elapsed = time.perf_counter() - start
    means = [1e3 * sum(stages[k::3]) / count for k in range(3)]
    text = ""
    if do_profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for body in bodies[: min(count, 300)]:
            one(body)
        profiler.disable()
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(25)
        text = buf.getvalue()
    return Limit(count / elapsed, count, means[0], means[1], means[2], profile=text)


def measure_breakdown(bodies: list[bytes], profile: str, rules_dir: Path, home: Path) -> list[str]:
    """Per invoice: the validator pool round trip, and ``submit()`` on a throwaway SQLite store."""
    from gateway.pipeline import PipelineContext, _render, read_source, submit
    from gateway.recipients import RecipientIn
    from gateway.secretbox import SecretBox
    from gateway.store import Store, repository
    from gateway.store.migrate import migrate
    from schemas.engine import Engine
    from schemas.pool import ValidatorPool

    box = SecretBox(os.urandom(32))
    engine = Engine()
    ctx = PipelineContext(engine=engine, box=box)
    formats = [{"kind": "ubl", "profile": profile}]
    docs = []
    for body in bodies:
        source = read_source(body, "application/json")
        docs.append(_render(source, body, formats, ctx, [])[0])
    lines = []

    def per_doc(fn: Any) -> float:
        for doc in docs[:3]:
            fn(doc)
        start = time.perf_counter()
        for doc in docs:
            fn(doc)
        return 1e3 * (time.perf_counter() - start) / len(docs)

    engine_ms = per_doc(lambda d: engine.validate(d.content, d.filename))
    engine_svrl = Engine(keep_svrl=True)
    svrl_ms = per_doc(lambda d: engine_svrl.validate(d.content, d.filename))
    with ValidatorPool(1, keep_svrl=True, rules_dir=str(rules_dir)) as pool:
        pool_ms = per_doc(lambda d: pool.validate(d.content, d.filename))
    lines.append(
        f"  validate, per invoice: Engine {engine_ms:.2f} ms; Engine(keep_svrl) {svrl_ms:.2f} ms; "
        f"ValidatorPool(1, keep_svrl) round trip {pool_ms:.2f} ms (what the server calls)"
    )

    store = Store(f"sqlite:///{home / 'breakdown.db'}")
    migrate(store)
    with store.session() as s:
        tenant, _ = repository.create_tenant(s, TENANT)
        recipient = repository.create_recipient(
            s, tenant.id, RecipientIn.model_validate(recipient_json(home / "out", profile)), box
        )
        tenant_id, recipient_id = tenant.id, recipient.id

    def submit_one(i: int, body: bytes) -> None:
        with store.session() as s:
            outcome = submit(
                s,
                tenant_id,
                body,
                "application/json",
                recipient_id=recipient_id,
                inline_recipient=None,
                idempotency_key=f"breakdown-{i}",
                ctx=ctx,
            )
        if not outcome.accepted:
            raise SystemExit("submit() refused a benchmark invoice: nothing to measure")

    for i, body in enumerate(bodies[:3]):
        submit_one(-1 - i, body)
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        submit_one(i, body)
    submit_ms = 1e3 * (time.perf_counter() - start) / len(bodies)
    lines.append(
        f"  submit() with Engine on a SQLite file store (one transaction per invoice): {submit_ms:.2f} ms "
        "per invoice"
    )
    store.dispose()
    return lines


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    home: Path
    rules_dir: Path
    jobs: int
    profile: str
    port: int = 0
    key: str = ""
    recipient: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)
    profile_out: Path | None = None  # serve through bench._load with cProfile on every thread
    profile_cpu: bool = False  # ... timing each thread's CPU instead of wall time

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(
            GATEWAY_HOME=str(self.home),
            GATEWAY_RULES_DIR=str(self.rules_dir),
            GATEWAY_VALIDATE_JOBS=str(self.jobs),
        )
        return env

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [PY, "-m", "gateway", *args], env=self.env, cwd=ROOT, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"gateway {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip().splitlines()[-1].strip()

    def start(self) -> None:
        self.home.mkdir(parents=True)
        self.key = self._cli("tenant", "create", TENANT)
        (self.home / "out").mkdir()
        spec = self.home / "recipient.json"
        spec.write_text(json.dumps(recipient_json(self.home / "out", self.profile)), encoding="utf-8")
        self.recipient = self._cli("recipient", "create", str(spec))
        self.port = free_port()
        self.log = self.home / "server.log"
        with self.log.open("wb") as log:
            command = [PY, "-m", "gateway", "serve", "--port", str(self.port)]
            if self.profile_out is not None:
                command = [PY, "-m", "bench._load", "--port", str(self.port), "--out", str(self.profile_out)]
                command += ["--cpu"] if self.profile_cpu else []
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gateway serve exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.1)
        raise SystemExit("gateway serve did not listen within 60 s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def delivery_counts(self) -> Counter[str]:
        db = self.home / "gateway.db"
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as con:
            return Counter(dict(con.execute("SELECT status, count(*) FROM deliveries GROUP BY status")))


# ---------------------------------------------------------------- the load


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    elapsed: float = 0.0
    delivered_after: float | None = None
    deliveries: Counter[str] = field(default_factory=Counter)
    files: int = 0
    memory: dict[str, Memory] = field(default_factory=dict)
    cpu: dict[str, Cpu] = field(default_factory=dict)


async def _post(client: httpx2.AsyncClient, server: Server, body: bytes, key: str) -> tuple[int, str, float]:
    start = time.perf_counter()
    try:
        response = await client.post(
            f"/v1/invoices?recipient={server.recipient}",
            content=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )
    except httpx2.HTTPError as exc:
        return 0, f"{type(exc).__name__}: {exc}", time.perf_counter() - start
    took = time.perf_counter() - start
    return response.status_code, response.text[:300] if response.status_code != 202 else "", took


async def run_load(server: Server, bodies: list[bytes], warmup: list[bytes], clients: int, run: str) -> Load:
    assert server.process is not None
    pid = server.process.pid
    load = Load()
    load.memory["idle"] = Memory.of(pid)
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}",
        headers={"Authorization": f"Bearer {server.key}"},
        limits=limits,
        timeout=120.0,
        trust_env=False,
    ) as client:
        for i, body in enumerate(warmup):  # imports, XSLT compilation in the workers, first connections
            status, text, _ = await _post(client, server, body, f"warmup-{run}-{i}")
            if status != 202:
                raise SystemExit(f"warm-up invoice refused ({status}): {text}")
        load.memory["start"] = Memory.of(pid)

        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(bodies)):
            queue.put_nowait(i)
        half = len(bodies) // 2
        done = 0

        async def client_loop() -> None:
            nonlocal done
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                status, text, took = await _post(client, server, bodies[i], f"bench-{run}-{i}")
                load.latencies.append(took)
                if status == 202:
                    load.accepted += 1
                else:
                    load.errors[f"{status} {text[:160]}"] += 1
                done += 1
                if done == half:
                    load.memory["middle"] = Memory.of(pid)

        load.cpu["start"] = Cpu.of(pid)
        start = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(clients)))
        load.elapsed = time.perf_counter() - start
        load.cpu["end"] = Cpu.of(pid)
        load.memory["end"] = Memory.of(pid)

    expected = load.accepted + len(warmup)
    deadline = time.monotonic() + max(120.0, load.elapsed)
    while time.monotonic() < deadline:
        load.deliveries = server.delivery_counts()
        settled = load.deliveries["delivered"] + load.deliveries["failed"]
        if settled >= expected:
            if load.deliveries["delivered"] >= expected:
                load.delivered_after = time.perf_counter() - start
            break
        await asyncio.sleep(0.1)
    load.memory["delivered"] = Memory.of(pid)
    load.cpu["delivered"] = Cpu.of(pid)
    out = server.home / "out"
    load.files = sum(1 for p in out.rglob("*") if p.is_file()) if out.exists() else 0
    return load


# ---------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def server_cpu_ms(load: Load) -> float:
    a, b = load.cpu["start"], load.cpu["end"]
    return 1e3 * (b.server - a.server) / max(1, load.accepted)


def report(jobs: int, load: Load, limit: Limit, clients: int, n: int, warmup: int) -> list[str]:
    rate = load.accepted / load.elapsed if load.elapsed else 0.0
    p50 = 1e3 * percentile(load.latencies, 0.50)
    p99 = 1e3 * percentile(load.latencies, 0.99)
    mean = 1e3 * statistics.fmean(load.latencies)
    errors = sum(load.errors.values())
    ratio = rate / limit.rate
    mid, end = load.memory["middle"], load.memory["end"]
    grow = end.server - mid.server
    rss_ok = grow <= TARGETS["rss_mb"] or grow <= mid.server * TARGETS["rss_pct"] / 100
    tree = (end.server + end.workers) - (mid.server + mid.workers)
    print(f"\n== gateway serve, GATEWAY_VALIDATE_JOBS={jobs}: {n} invoices, {clients} clients ==")
    print(
        f"  accepted: {load.accepted}/{n} in {load.elapsed:.1f} s = {rate:.1f} invoices/s "
        f"({ratio:.2f}x the limit)"
    )
    print(
        f"  latency: p50 {p50:.0f} ms, p99 {p99:.0f} ms, mean {mean:.0f} ms, max "
        f"{1e3 * max(load.latencies):.0f} ms (closed loop, Little's law: mean ~ {clients} clients / rate = "
        f"{1e3 * clients / rate if rate else 0:.0f} ms)"
    )
    print(f"  errors: {errors}")
    for text, count in load.errors.most_common(5):
        print(f"    {count} x {text}")
    states = ", ".join(f"{k} {v}" for k, v in sorted(load.deliveries.items()))
    if load.delivered_after is not None:
        print(
            f"  all {load.accepted + warmup} deliveries delivered {load.delivered_after:.1f} s after the "
            f"first request ({load.delivered_after - load.elapsed:.1f} s after the last answer); "
            f"{load.files} files in the folder"
        )
    else:
        print(f"  NOT all delivered: {states}; {load.files} files in the folder")
    a, b, c = load.cpu["start"], load.cpu["end"], load.cpu["delivered"]
    per = 1e3 / max(1, load.accepted)
    offered = 1e3 * (os.cpu_count() or 1) * load.elapsed / max(1, load.accepted)
    print(
        f"  CPU per accepted invoice during the load: server process {per * (b.server - a.server):.2f} ms, "
        f"validator workers {per * (b.workers - a.workers):.2f} ms, this load generator "
        f"{per * (b.client - a.client):.2f} ms (of {offered:.2f} ms "
        f"of CPU the {os.cpu_count()} cores offer per invoice); server after the last answer "
        f"{c.server - b.server:.1f} s (deliveries left)"
    )
    for name in ("idle", "start", "middle", "end", "delivered"):
        print(f"  RSS {name:9}: {load.memory[name]}")
    return [
        f"[jobs={jobs}] accepted/s {rate:.1f} >= {TARGETS['ratio']}x limit {limit.rate:.1f} "
        f"({ratio:.2f}x): {_mark(ratio >= TARGETS['ratio'])}",
        f"[jobs={jobs}] p99 {p99:.0f} ms <= {TARGETS['p99_ms']:.0f} ms: {_mark(p99 <= TARGETS['p99_ms'])}",
        f"[jobs={jobs}] errors {errors} == 0: {_mark(errors == 0 and load.delivered_after is not None)}"
        + ("" if load.delivered_after is not None else " (not all delivered)"),
        f"[jobs={jobs}] RSS flat: server end - middle {grow:+.1f} MB "
        f"({100 * grow / mid.server:+.1f} %; server + workers {tree:+.1f} MB): {_mark(rss_ok)}",
    ]


def print_server_profile(path: Path, n: int, cpu: bool, server_ms: float | None) -> None:
    """The server's profile as shares of all it recorded, and (CPU) scaled to the unprofiled CPU/invoice."""
    if not path.exists():
        print(f"\nno server profile was written ({path})")
        return
    clock = "CPU time per thread" if cpu else "wall time summed over threads, waits included"
    stats = pstats.Stats(str(path))
    rows = []
    for (filename, line, name), (_cc, _nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = Path(filename).as_posix().split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        rows.append((ct, tt, f"{where}:{line}({name})", _nc))
    total = sum(r[1] for r in rows) or 1.0
    scale = f"ms/invoice at the unprofiled {server_ms:.1f} ms" if cpu and server_ms else "ms/invoice profiled"
    per = (server_ms / total) if cpu and server_ms else 1e3 / n
    print(
        f"\n== server under cProfile ({clock}), {n} invoices; {1e3 * total / n:.1f} ms recorded per invoice "
        f"(the profiler's overhead included): % of it, and {scale} =="
    )
    print("  by cumulative time (top 40):")
    for ct, tt, where, calls in sorted(rows, reverse=True)[:40]:
        print(
            f"    {100 * ct / total:5.1f} % {per * ct:7.2f} cum {per * tt:6.2f} self "
            f"{calls / n:5.1f} calls {where}"
        )
    print("  by self time (top 20):")
    for ct, tt, where, calls in sorted(rows, key=lambda r: r[1], reverse=True)[:20]:
        print(
            f"    {100 * tt / total:5.1f} % {per * tt:6.2f} self {per * ct:7.2f} cum "
            f"{calls / n:5.1f} calls {where}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--validate-jobs", default="1,2", help="GATEWAY_VALIDATE_JOBS values, one server run each"
    )
    parser.add_argument("--limit-seconds", type=float, default=15.0, help="time box of the in-process limit")
    parser.add_argument("--breakdown-invoices", type=int, default=200)
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process limit")
    parser.add_argument(
        "--profile-server",
        type=int,
        default=0,
        metavar="N",
        help="afterwards, N invoices against a server under cProfile (every thread); prints where it spends",
    )
    parser.add_argument("--profile-wall", action="store_true", help="--profile-server in wall time, not CPU")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs, store)")
    args = parser.parse_args()
    jobs_list = [int(j) for j in args.validate_jobs.split(",") if j.strip()]
    warmup = 4

    tmp = Path(tempfile.mkdtemp(prefix="bench-service-"))
    rules_dir = tmp / "rules"
    os.environ["GATEWAY_RULES_DIR"] = str(rules_dir)  # before any Engine: the limit uses the same rules
    os.environ.pop("GATEWAY_VALIDATE_JOBS", None)
    server: Server | None = None
    try:
        profile = install_rules(rules_dir)
        run = f"{int(time.time()):x}"
        bodies = invoice_bodies(args.invoices + warmup, run)
        warm, bodies = bodies[:warmup], bodies[warmup:]
        print(
            f"python {platform.python_version()}, saxonche {version('saxonche')}, "
            f"httpx2 {version('httpx2')}, uvicorn {version('uvicorn')}; {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.2f}; "
            f"invoices: {EXAMPLE.name} varied, {len(bodies[0])} bytes of JSON, one UBL document each"
        )
        if profile == "peppol":
            print(f"profile: Peppol BIS 3.0 UBL (rule packs from {CORPUS}: XSD + CEN 1.3.16 + Peppol 3.0.19)")
        else:
            print(
                f"profile: EN 16931 UBL -- NO PEPPOL: the corpus ({CORPUS}) is missing, so the Peppol rule "
                "pack cannot be installed; these figures are not the issue's Peppol benchmark"
            )

        limit = measure_limit(bodies, profile, args.limit_seconds, args.profile)
        print(
            f"\nlimit (in process, no HTTP, no store; read_source + _render + _validate with one Engine): "
            f"{limit.rate:.1f} invoices/s over {limit.count} invoices\n"
            f"  per invoice: read+calculate+check {limit.read_ms:.2f} ms, "
            f"render UBL {limit.render_ms:.2f} ms, validate {limit.validate_ms:.2f} ms"
        )
        if not args.no_breakdown:
            for line in measure_breakdown(bodies[: args.breakdown_invoices], profile, rules_dir, tmp):
                print(line)
        if limit.profile:
            print(limit.profile)

        summary: list[str] = []
        server_ms: dict[int, float] = {}
        for jobs in jobs_list:
            server = Server(tmp / f"home-{jobs}", rules_dir, jobs, profile)
            server.start()
            try:
                load = asyncio.run(run_load(server, bodies, warm, args.clients, f"{run}-{jobs}"))
            finally:
                server.stop()
            summary += report(jobs, load, limit, args.clients, len(bodies), warmup)
            server_ms[jobs] = server_cpu_ms(load)
        if args.profile_server:
            server = Server(tmp / "home-profiled", rules_dir, jobs_list[0], profile)
            server.profile_out = tmp / "server.prof"
            server.profile_cpu = not args.profile_wall
            server.start()
            try:
                asyncio.run(
                    run_load(server, bodies[: args.profile_server], warm, args.clients, f"{run}-profiled")
                )
            finally:
                server.stop()
            sent = len(bodies[: args.profile_server]) + warmup
            print_server_profile(server.profile_out, sent, server.profile_cpu, server_ms.get(jobs_list[0]))
        print("\nsummary")
        for line in summary:
            print("  " + line)
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
