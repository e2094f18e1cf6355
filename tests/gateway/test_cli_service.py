"""The service from the command line, as a user runs it on the embedded default (SQLite).

``gateway demo`` (the README's first command), ``tenant create``, ``recipient create``,
``submit``, ``status``, and ``gateway serve`` answering real HTTP: a tenant's key submits an
invoice over the loopback and watches it reach ``delivered``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.gateway.cli_env import cli_env

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))


def gateway(home: Path, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = cli_env(columns=200, GATEWAY_HOME=str(home))
    env.pop("GATEWAY_DATABASE_URL", None)
    env.pop("GATEWAY_MASTER_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "gateway", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr


def folder_recipient(path: Path, outbox: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "name": "acme-buyer",
                "buyer": {"name": "Acme Buyer", "address": {"country_code": "DE"}},
                "formats": [{"kind": "ubl", "profile": "en16931"}],
                "channels": [{"type": "folder", "name": "inbox", "settings": {"path": str(outbox)}}],
            }
        )
    )
    return path


def test_demo_delivers_every_example_and_a_second_run_replays(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = gateway(home, "demo")
    no_traceback(first)
    assert first.returncode == 0, first.stdout + first.stderr
    outbox = home / "outbox"
    files = sorted(p.name for p in outbox.iterdir())
    assert len(files) == 2 * len(EXAMPLES)  # UBL and Factur-X per invoice
    assert sum(name.endswith(".pdf") for name in files) == len(EXAMPLES)
    assert f"{len(EXAMPLES)} of {len(EXAMPLES)} example invoices delivered" in first.stdout
    assert (home / "master.key").stat().st_mode & 0o777 == 0o600
    second = gateway(home, "demo")
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in outbox.iterdir()) == files  # replayed, nothing sent twice


def test_tenant_recipient_submit_and_status(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = gateway(home, "tenant", "create", "acme")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("gw_")
    assert key not in (home / "gateway.db").read_bytes().decode("latin-1")  # stored hashed
    again = gateway(home, "tenant", "create", "acme")
    assert again.returncode == 2
    assert "exists already" in again.stderr

    outbox = tmp_path / "outbox"
    outbox.mkdir()
    recipient = gateway(home, "recipient", "create", folder_recipient(tmp_path / "r.json", outbox))
    assert recipient.returncode == 0, recipient.stderr
    recipient_id = recipient.stdout.strip()
    assert recipient_id.startswith("rcp_")

    submitted = gateway(home, "submit", EXAMPLES[0], "--recipient", "acme-buyer")
    no_traceback(submitted)
    assert submitted.returncode == 0, submitted.stderr
    assert "delivered" in submitted.stdout
    invoice_id = next(word for word in submitted.stdout.split() if word.startswith("inv_"))
    assert len(list(outbox.iterdir())) == 1

    status = gateway(home, "status", invoice_id, "--json")
    assert status.returncode == 0, status.stderr
    timeline = json.loads(status.stdout)
    assert timeline["status"] == "delivered"
    assert [e["status"] for e in timeline["events"]][-2:] == ["sending", "delivered"]
    missing = gateway(home, "status", "inv_" + "0" * 32)
    assert missing.returncode == 2
    no_traceback(missing)


def test_a_refused_invoice_lists_its_problems_and_stores_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    gateway(home, "tenant", "create", "acme")
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    gateway(home, "recipient", "create", folder_recipient(tmp_path / "r.json", outbox))
    data: dict[str, Any] = json.loads(EXAMPLES[0].read_text())
    data["totals"] = {"amount_due": "1.00"}  # disagrees with the calculation
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    done = gateway(home, "submit", bad, "--recipient", "acme-buyer")
    no_traceback(done)
    assert done.returncode == 1
    assert "BT-115" in done.stderr
    assert list(outbox.iterdir()) == []


def test_worker_needs_postgresql(tmp_path: Path) -> None:
    done = gateway(tmp_path / "home", "worker")
    assert done.returncode == 2
    assert "PostgreSQL" in done.stderr
    no_traceback(done)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _http(method: str, url: str, key: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_serve_accepts_and_delivers_over_http(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = gateway(home, "tenant", "create", "acme").stdout.strip()
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    recipient_id = gateway(home, "recipient", "create", folder_recipient(tmp_path / "r.json", outbox)).stdout
    recipient_id = recipient_id.strip()
    port = _free_port()
    env = cli_env(GATEWAY_HOME=str(home))
    env.pop("GATEWAY_DATABASE_URL", None)
    env.pop("GATEWAY_MASTER_KEY", None)
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        status, accepted = _http(
            "POST", f"{base}/v1/invoices?recipient={recipient_id}", key, EXAMPLES[1].read_bytes()
        )
        assert status == 202, accepted
        invoice_id = accepted["id"]
        deadline = time.monotonic() + 60
        while True:
            status, shown = _http("GET", f"{base}/v1/invoices/{invoice_id}", key)
            assert status == 200, shown
            if shown["status"] == "delivered":
                break
            assert time.monotonic() < deadline, shown
            time.sleep(0.2)
        assert len(list(outbox.iterdir())) == 1
        status, _ = _http("GET", f"{base}/v1/invoices/{invoice_id}", "gw_wrong")
        assert status == 401
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
