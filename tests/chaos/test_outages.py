"""Chaos: outages of the buyer's servers and of the database lose nothing and duplicate nothing (issue 9).

Real components throughout: a private PostgreSQL server (``tests/pgserver.py``; the tests stop
it, so never the machine's shared one), invoices stored through the real pipeline
(``submit_to_store``: the UBL rendering of ``examples/de-domestic-b2b.json`` with a distinct
number each, validated by the built-in XSD and CEN Schematron), one ``gateway worker`` (the
CLI, in a subprocess) serving every scenario of the module, each scenario with its own
tenant, a real OpenSSH sshd (``tests/connectors/sshd.py``) and a real aiosmtpd with STARTTLS
and AUTH (``tests/connectors/smtpd.py``).

* **SFTP down mid-run.** Half the deliveries are queued and the first is delivered; sshd is
  stopped (its sessions killed, transfers in flight cut) and the other half is queued while
  it is down. Every delivery not yet delivered goes to ``retrying`` (none ``failed``); sshd
  comes back on the same port and every delivery ends ``delivered`` with exactly one
  ``delivered`` event: one file per delivery on the server, no ``.partial`` left, each with the
  SHA-256 of the stored document.
* **SMTP down mid-run.** The same with aiosmtpd stopped and started again on the same port,
  the worker holding a pooled session to it. Every delivery's message arrives exactly once: no
  Message-ID twice, each the delivery's own, attachments equal to the stored documents. (The
  server is stopped between two messages: one that dies after accepting a message but before
  answering makes the client send it again with the same Message-ID, which is SMTP's own
  at-least-once and what the stable Message-ID is for.)
* **PostgreSQL restarted mid-run.** The API (uvicorn on a loopback port) takes submissions from
  client threads, each invoice with its own ``Idempotency-Key``, while the worker delivers
  them; the database is stopped (``pg_ctl -m fast``: every session terminated) and started
  again. During the outage every answer is 503 problem+json with ``Retry-After`` (``/readyz``
  and a read route included), never a 500; a client that got a 503 or lost its connection
  resubmits with the same key. Afterwards every invoice exists exactly once, each client finds
  its invoice by the id it was given, a resubmission of an accepted one is a replay, every
  delivery is delivered exactly once, and the worker process came back by itself.
* **PostgreSQL down between a send and its record.** sshd is frozen while the worker connects,
  the database is stopped, sshd thawed: the upload completes during the outage, and its
  outcome is recorded once the database is back (one attempt, ``uploaded``) instead of the
  delivery staying ``sending`` until the reconciler gives up on it and sends it again.

Sizes: by default (CI) 8 deliveries per channel, 24 API submissions from 4 clients, outages
of 1.5 s. ``GATEWAY_CHAOS_FULL=1`` runs 60 deliveries per channel, 200 submissions from 8
clients and 10 s outages. Run with ``-s`` to see the figures (how long each scenario and each
recovery took)::

    CI=1 .venv/bin/pytest -q -s -m chaos tests/chaos/test_outages.py
    GATEWAY_CHAOS_FULL=1 CI=1 .venv/bin/pytest -q -s -m chaos tests/chaos/test_outages.py

Without ``initdb`` (the PostgreSQL server binaries) the module is skipped, saying so; under
``CI`` it fails instead.
"""

from __future__ import annotations

import base64
import email
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from connectors.email import message_id
from gateway.pipeline import PipelineContext, submit_to_store
from gateway.recipients import RecipientIn
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.migrate import migrate
from tests import pgserver
from tests.connectors import smtpd, sshd
from tests.gateway.api.conftest import engine, folder_recipient, invoice_json
from tests.gateway.cli_env import cli_env
from tests.gateway.test_jobs_pg import BOX_KEY, Worker, box, wait_for

__all__ = ["box", "engine"]  # fixtures imported from the suites that define them

pytestmark = pytest.mark.chaos

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("GATEWAY_CHAOS_FULL", "").strip() not in ("", "0")
DELIVERIES = 60 if FULL else 8  # per channel scenario
SUBMISSIONS, CLIENTS = (200, 8) if FULL else (24, 4)
OUTAGE = 10.0 if FULL else 1.5  # seconds a server stays down
# seconds from a server's return to the last delivery: the deliveries' backoff decides (full jitter,
# at most 2, 4, 8 … s after the 1st, 2nd, 3rd … failure), so a longer outage may take longer
RECOVERY_BOUND = 90.0 if FULL else 40.0
MASTER_KEY = base64.b64encode(BOX_KEY).decode("ascii")
SENDER = "invoices@seller.example"

# ---------------------------------------------------------------- the worker, the database


class GatewayWorker(Worker):
    """``gateway worker`` (the CLI, ``--concurrency 2``) in a subprocess, its output in a file.

    ``Worker`` (tests/gateway/test_jobs_pg.py) gives ``stop``, ``kill`` and ``output``.
    """

    def __init__(self, url: str, log: Path) -> None:
        self.log = log
        self.fh = log.open("ab")
        env = {
            **cli_env(),
            "GATEWAY_DATABASE_URL": url,
            "GATEWAY_MASTER_KEY": MASTER_KEY,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "worker", "--concurrency", "2"],
            cwd=ROOT,
            env=env,
            stdout=self.fh,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def restarts(self) -> int:
        """How often the worker lost its database and ran procrastinate's worker again."""
        return self.log.read_text(errors="replace").count('"worker.restarting"')


@dataclass
class Gateway:
    pg: pgserver.PgServer
    store: Store
    worker: GatewayWorker


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A private PostgreSQL server (the tests stop it), a migrated database on it and one
    ``gateway worker`` serving every scenario of the module (each has its own tenant)."""
    pgserver.require()
    with pgserver.running() as pg:
        store = Store(pg.url())
        try:
            migrate(store)
            worker = GatewayWorker(store.url, tmp_path_factory.mktemp("outages") / "worker.log")
            try:
                yield Gateway(pg, store, worker)
            finally:
                worker.stop()
        finally:
            store.dispose()


@pytest.fixture
def gw(shared: Gateway) -> Iterator[Gateway]:
    """The shared gateway, its worker alive; the database is running again after the test."""
    assert shared.worker.alive(), f"the worker died:\n{shared.worker.output()}"
    try:
        yield shared
    finally:
        if not shared.pg.running:
            shared.pg.start()


@pytest.fixture
def ssh_server(tmp_path: Path) -> Iterator[sshd.SshServer]:
    if sshd.available() is not None:
        pytest.skip(str(sshd.available()))
    with sshd.running(tmp_path / "sshd") as server:
        yield server


# ---------------------------------------------------------------- data


@dataclass
class Setup:
    """One scenario's tenant (with its API key) and recipient, on the shared database."""

    store: Store
    tenant_id: str
    api_key: str
    recipient_id: str
    ctx: PipelineContext


def sftp_inbox(ssh_server: sshd.SshServer, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A fresh folder on the sshd and an sftp channel that delivers into it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    channel = {
        "type": "sftp",
        "name": "buyer-sftp",
        "settings": ssh_server.settings(f"{inbox}/{{filename}}"),
        "secrets": {"private_key": ssh_server.client_key_pem},
    }
    return inbox, channel


def prepare(gw: Gateway, box: SecretBox, engine: Any, name: str, channel: dict[str, Any]) -> Setup:
    """A tenant ``name`` and a recipient delivering by ``channel``."""
    data = folder_recipient(Path("/nonexistent"))
    data["channels"] = [channel]
    with gw.store.session() as s:
        tenant, key = repository.create_tenant(s, name)
        recipient = repository.create_recipient(s, tenant.id, RecipientIn.model_validate(data), box)
        return Setup(gw.store, tenant.id, key, recipient.id, PipelineContext(engine=engine, box=box))


def submit(setup: Setup, number: str) -> str:
    """One invoice through the pipeline; returns its delivery id (the job is queued with it)."""
    outcome = submit_to_store(
        setup.store,
        setup.tenant_id,
        json.dumps(invoice_json(number)).encode("utf-8"),
        "application/json",
        recipient_id=setup.recipient_id,
        inline_recipient=None,
        idempotency_key=None,
        ctx=setup.ctx,
    )
    assert outcome.accepted, outcome.report
    assert outcome.invoice is not None
    (delivery,) = outcome.invoice.deliveries
    return delivery.id


def statuses(setup: Setup) -> dict[str, str]:
    """delivery id -> status, for the scenario's tenant."""
    with setup.store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, status FROM deliveries WHERE tenant_id = :t"), {"t": setup.tenant_id}
        )
        return {str(d): str(st) for d, st in rows.all()}


def transport_events(setup: Setup) -> dict[str, list[tuple[str, str | None]]]:
    """delivery id -> its transport events (status, raw code), in order."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    with setup.store.engine.connect() as conn:
        for delivery_id, status, raw_code in conn.execute(
            text(
                "SELECT delivery_id, status, raw_code FROM events WHERE tenant_id = :t "
                "AND axis = 'transport' AND delivery_id IS NOT NULL ORDER BY id"
            ),
            {"t": setup.tenant_id},
        ):
            found.setdefault(str(delivery_id), []).append((str(status), raw_code))
    return found


def stored_documents(setup: Setup) -> dict[str, tuple[str, str]]:
    """delivery id -> (filename, SHA-256) of its UBL document, as stored."""
    with setup.store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.id, doc.filename, doc.sha256 FROM deliveries d "
                "JOIN documents doc ON doc.invoice_id = d.invoice_id AND doc.kind = 'ubl' "
                "WHERE d.tenant_id = :t"
            ),
            {"t": setup.tenant_id},
        ).all()
    return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}


def no_failures(setup: Setup) -> None:
    failed = [d for d, st in statuses(setup).items() if st == "failed"]
    assert not failed, f"deliveries failed instead of retrying: {failed}"


def all_delivered(setup: Setup, expected: int) -> bool:
    no_failures(setup)
    current = statuses(setup)
    return len(current) == expected and all(st == "delivered" for st in current.values())


def retried(setup: Setup, delivery_ids: list[str]) -> bool:
    """Every one of ``delivery_ids`` has been ``retrying`` at least once (or is delivered)."""
    no_failures(setup)
    events = transport_events(setup)
    return all(any(st in ("retrying", "delivered") for st, _ in events.get(d, [])) for d in delivery_ids)


def delivered_once(setup: Setup, expected: int) -> dict[str, list[tuple[str, str | None]]]:
    """Every delivery has exactly one ``delivered`` event and none ``failed``; returns the events."""
    events = transport_events(setup)
    assert len(events) == expected
    for delivery_id, mine in events.items():
        assert [st for st, _ in mine].count("delivered") == 1, (delivery_id, mine)
        assert "failed" not in [st for st, _ in mine], (delivery_id, mine)
    return events


def report(title: str, **figures: Any) -> None:
    shown = ", ".join(
        f"{k.replace('_', ' ')} {v:.1f} s" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
        for k, v in figures.items()
    )
    print(f"\n{title}: {shown}")


# ---------------------------------------------------------------- (a) SFTP


def test_sftp_server_down_mid_run_then_every_delivery_arrives_once(
    gw: Gateway, box: SecretBox, engine: Any, ssh_server: sshd.SshServer, tmp_path: Path
) -> None:
    started = time.monotonic()
    inbox, channel = sftp_inbox(ssh_server, tmp_path)
    setup = prepare(gw, box, engine, "outage-sftp", channel)
    worker = gw.worker
    first = [submit(setup, f"OUT-SFTP-{i:04d}") for i in range(DELIVERIES // 2)]
    wait_for(lambda: "delivered" in statuses(setup).values(), 60, "the first SFTP delivery", worker)
    ssh_server.stop()  # sessions killed: transfers in flight are cut
    down_at = time.monotonic()
    pending_at_stop = sum(1 for d in first if statuses(setup)[d] != "delivered")
    second = [submit(setup, f"OUT-SFTP-{i:04d}") for i in range(DELIVERIES // 2, DELIVERIES)]
    undelivered = [d for d, st in statuses(setup).items() if st != "delivered"]
    wait_for(lambda: retried(setup, undelivered), 30, "the deliveries to go to retrying", worker)
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
    ssh_server.start()  # same port, same host key
    back_at = time.monotonic()
    wait_for(lambda: all_delivered(setup, DELIVERIES), RECOVERY_BOUND, "every SFTP delivery", worker)
    recovery = time.monotonic() - back_at
    assert worker.alive(), worker.output()

    events = delivered_once(setup, DELIVERIES)
    documents = stored_documents(setup)
    on_server = sorted(os.listdir(inbox))
    assert [f for f in on_server if f.endswith(".partial")] == []
    assert on_server == sorted(name for name, _ in documents.values())  # one file per delivery
    for name, sha256 in documents.values():
        assert hashlib.sha256((inbox / name).read_bytes()).hexdigest() == sha256, name
    retries = sum(1 for mine in events.values() for st, _ in mine if st == "retrying")
    assert retries >= len(second)
    report(
        f"SFTP outage ({DELIVERIES} deliveries)",
        scenario=time.monotonic() - started,
        down_for=back_at - down_at,
        recovery_after_return=recovery,
        not_yet_delivered_at_the_stop=pending_at_stop,
        retrying_events=retries,
        files=len(on_server),
    )


# ---------------------------------------------------------------- (b) SMTP


def test_smtp_server_down_mid_run_then_every_message_arrives_once(
    gw: Gateway, box: SecretBox, engine: Any
) -> None:
    started = time.monotonic()
    worker = gw.worker
    with smtpd.smtp_server("starttls") as server:
        channel = {
            "type": "email",
            "name": "ap-mailbox",
            "settings": {
                "to": ["ap@buyer.example"],
                "from": SENDER,
                "smtp_host": server.host,
                "smtp_port": server.port,
                "username": smtpd.USER,
                "tls_ca_pem": smtpd.tls_material().ca_pem,
                "timeout": 5,
            },
            "secrets": {"password": smtpd.PASSWORD},
        }
        setup = prepare(gw, box, engine, "outage-smtp", channel)
        first = [submit(setup, f"OUT-SMTP-{i:04d}") for i in range(DELIVERIES // 2)]
        # all of the first half, so the server goes down between messages (see the docstring)
        wait_for(lambda: all_delivered(setup, len(first)), 60, "the first SMTP deliveries", worker)
        server.stop()  # the worker's pooled session dies with it
        down_at = time.monotonic()
        second = [submit(setup, f"OUT-SMTP-{i:04d}") for i in range(DELIVERIES // 2, DELIVERIES)]
        wait_for(lambda: retried(setup, second), 30, "the deliveries to go to retrying", worker)
        assert all(statuses(setup)[d] != "delivered" for d in second)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        server.start()  # same port, same handler
        back_at = time.monotonic()
        wait_for(lambda: all_delivered(setup, DELIVERIES), RECOVERY_BOUND, "every SMTP delivery", worker)
        recovery = time.monotonic() - back_at
        assert worker.alive(), worker.output()
        received = list(server.handler.messages)

    events = delivered_once(setup, DELIVERIES)
    documents = stored_documents(setup)
    assert len(received) == DELIVERIES
    messages: dict[str, Message] = {}
    for item in received:
        message = email.message_from_bytes(item.content)
        ident = str(message["Message-ID"])
        assert ident not in messages, f"{ident} received twice"
        messages[ident] = message
    expected = {message_id(d, SENDER): d for d in documents}  # each delivery's own Message-ID
    assert set(messages) == set(expected)
    for ident, message in messages.items():
        name, sha256 = documents[expected[ident]]
        attached = {
            str(p.get_filename()): p.get_payload(decode=True) for p in message.walk() if p.get_filename()
        }
        payload = attached[name]
        assert isinstance(payload, bytes)
        assert hashlib.sha256(payload).hexdigest() == sha256, ident
    retries = sum(1 for mine in events.values() for st, _ in mine if st == "retrying")
    assert retries >= len(second)
    report(
        f"SMTP outage ({DELIVERIES} deliveries)",
        scenario=time.monotonic() - started,
        down_for=back_at - down_at,
        recovery_after_return=recovery,
        retrying_events=retries,
        messages=len(received),
    )


# ---------------------------------------------------------------- (c) PostgreSQL under the API


@dataclass
class Answer:
    status: int | str  # HTTP status, or the connection error's class name
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    at: float = 0.0


@dataclass
class Submission:
    key: str
    number: str
    answers: list[Answer] = field(default_factory=list)
    invoice_id: str | None = None
    replay: bool = False


def call(method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> Answer:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status, raw, got = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, got = exc.code, exc.read(), exc.headers
        exc.close()
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
        return Answer(type(exc).__name__, at=time.monotonic())
    content = json.loads(raw) if raw[:1] in (b"{", b"[") else raw
    return Answer(status, {k.lower(): v for k, v in got.items()}, content, time.monotonic())


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """The application on a loopback port (uvicorn in a thread); yields its base URL."""
    import uvicorn

    port = pgserver.free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "uvicorn exited at start"
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def run_client(
    base: str,
    api_key: str,
    recipient_id: str,
    mine: list[Submission],
    stop_at: float,
    restart: threading.Barrier,
) -> None:
    """Submit each invoice until it is accepted: a 503 or a lost connection is retried with the same key.

    After a third of its invoices the client waits at ``restart``: the test passes it just as it
    stops the database, so every client is submitting while the server shuts down and is down.
    """
    passed = False
    try:
        for n, item in enumerate(mine):
            if n == len(mine) // 3:
                restart.wait(timeout=60)
                passed = True
            body = json.dumps(invoice_json(item.number)).encode("utf-8")
            headers = {
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "Idempotency-Key": item.key,
            }
            while time.monotonic() < stop_at:
                answer = call("POST", f"{base}/v1/invoices?recipient={recipient_id}", headers, body)
                item.answers.append(answer)
                if answer.status == 202:
                    item.invoice_id = answer.body["id"]
                    item.replay = answer.body["replay"]
                    break
                if answer.status != 503 and isinstance(answer.status, int):
                    return  # anything else is a failure the test reports
                time.sleep(0.2)  # a real client waits Retry-After; the test is in a hurry
            time.sleep(0.05)
    finally:
        if not passed:  # failed before the barrier: do not keep the test waiting there
            restart.abort()


def test_postgresql_restart_under_the_api_and_the_worker_loses_and_duplicates_nothing(
    gw: Gateway, box: SecretBox, engine: Any, tmp_path: Path
) -> None:
    from gateway.api import create_app
    from gateway.api.settings import ApiSettings

    started = time.monotonic()
    pg, store, worker = gw.pg, gw.store, gw.worker
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    folder = {"type": "folder", "name": "archive", "settings": {"path": str(outbox)}}
    setup = prepare(gw, box, engine, "outage-postgresql", folder)
    app = create_app(ApiSettings(runner="off"), store=store, box=box, engine=engine)
    submissions = [Submission(f"outage-{i:04d}", f"OUT-PG-{i:04d}") for i in range(SUBMISSIONS)]
    restarts_before = worker.restarts()
    during: dict[str, Answer] = {}
    with serve(app) as base:
        auth = {"Authorization": f"Bearer {setup.api_key}"}
        stop_at = time.monotonic() + 120
        restart = threading.Barrier(CLIENTS + 1)
        clients = [
            threading.Thread(
                target=run_client,
                args=(base, setup.api_key, setup.recipient_id, submissions[n::CLIENTS], stop_at, restart),
            )
            for n in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        accepted = lambda: sum(1 for x in submissions if x.invoice_id is not None)  # noqa: E731
        wait_for(lambda: "delivered" in statuses(setup).values(), 60, "the first delivery", worker)
        restart.wait(timeout=60)  # every client has a third accepted and goes on submitting now
        pg.stop("fast")  # every session terminated (57P01), new ones refused
        down_at = time.monotonic()
        accepted_at_stop = accepted()
        during["readyz"] = call("GET", f"{base}/readyz", {})
        during["list"] = call("GET", f"{base}/v1/invoices", auth)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        pg.start()
        back_at = time.monotonic()
        for client in clients:
            client.join(timeout=max(1.0, stop_at - time.monotonic()))
        api_done = time.monotonic()
        wait_for(
            lambda: all_delivered(setup, SUBMISSIONS),
            RECOVERY_BOUND,
            "every delivery after the restart",
            worker,
        )
        delivered_at = time.monotonic()
        found = {x.key: call("GET", f"{base}/v1/invoices/{x.invoice_id}", auth) for x in submissions}
        # a client that never saw its 202 (a lost answer) sends again with the same key: replayed
        again = {
            x.key: call(
                "POST",
                f"{base}/v1/invoices?recipient={setup.recipient_id}",
                {**auth, "Content-Type": "application/json", "Idempotency-Key": x.key},
                json.dumps(invoice_json(x.number)).encode("utf-8"),
            )
            for x in submissions[:CLIENTS]
        }

    # ------------------------------------------------------------ what the clients saw
    answers = [a for x in submissions for a in x.answers]
    kinds = Counter(a.status for a in answers)
    unexpected = [
        (x.key, a.status, a.body)
        for x in submissions
        for a in x.answers
        if a.status not in (202, 503) and isinstance(a.status, int)
    ]
    assert not unexpected, unexpected  # never a 500 (nor anything else)
    assert kinds[503] >= 1, f"no request met the outage: {kinds}"
    for a in [*(a for a in answers if a.status == 503), during["readyz"], during["list"]]:
        assert a.status == 503, a
        assert a.headers["content-type"].startswith("application/problem+json"), a.headers
        assert int(a.headers["retry-after"]) > 0, a.headers
        assert a.body["status"] == 503, a.body
        assert a.body["type"].startswith("urn:einvoice-gateway:problem:"), a.body
    assert during["list"].body["type"].endswith(":database-unavailable"), during["list"].body
    assert all(x.invoice_id is not None for x in submissions), [(x.key, x.answers[-1]) for x in submissions]
    resubmitted = [x for x in submissions if len(x.answers) > 1]
    assert resubmitted, "no client had to resubmit"
    for x in submissions:  # a client that got 202 finds its invoice
        assert found[x.key].status == 200, (x.key, found[x.key])
        assert found[x.key].body["number"] == x.number
    for key, answer in again.items():
        original = next(x for x in submissions if x.key == key)
        assert answer.status == 202, answer
        assert answer.body["replay"] is True, answer.body
        assert answer.body["id"] == original.invoice_id
        assert answer.headers["idempotent-replayed"] == "true"

    # ------------------------------------------------------------ what the database holds
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, number, idempotency_key FROM invoices WHERE tenant_id = :t"),
            {"t": setup.tenant_id},
        ).all()
    by_number = Counter(str(r[1]) for r in rows)
    assert len(rows) == SUBMISSIONS
    assert by_number == Counter(x.number for x in submissions), [n for n, c in by_number.items() if c > 1]
    assert {str(r[2]) for r in rows} == {x.key for x in submissions}
    assert {str(r[0]) for r in rows} == {x.invoice_id for x in submissions}
    delivered_once(setup, SUBMISSIONS)
    documents = stored_documents(setup)
    files = sorted(p.name for p in outbox.iterdir())
    assert files == sorted(f"{d}-{name}" for d, (name, _) in documents.items())  # one file each
    for d, (name, sha256) in documents.items():
        assert hashlib.sha256((outbox / f"{d}-{name}").read_bytes()).hexdigest() == sha256, d

    # ------------------------------------------------------------ the worker came back by itself
    assert worker.alive(), worker.output()
    assert worker.restarts() > restarts_before, worker.output()

    first_after = min((a.at for a in answers if a.status == 202 and a.at >= back_at), default=float("nan"))
    report(
        f"PostgreSQL restart ({SUBMISSIONS} submissions, {CLIENTS} clients)",
        scenario=time.monotonic() - started,
        down_for=back_at - down_at,
        api_first_202_after_return=first_after - back_at,
        clients_done_after_return=api_done - back_at,
        all_delivered_after_return=delivered_at - back_at,
        accepted_before_the_stop=accepted_at_stop,
        answers_503=kinds[503],
        connection_errors=sum(n for k, n in kinds.items() if isinstance(k, str)),
        resubmitted=len(resubmitted),
        replays=sum(1 for x in submissions if x.replay),
        worker_restarts=worker.restarts() - restarts_before,
    )


# ---------------------------------------------------------------- (d) PostgreSQL down between send and record


def test_a_send_finished_while_the_database_is_down_is_recorded_once_it_returns(
    gw: Gateway, box: SecretBox, engine: Any, ssh_server: sshd.SshServer, tmp_path: Path
) -> None:
    """sshd frozen (SIGSTOP) while the worker connects, so the attempt is still in progress when
    the database stops; thawed, the upload completes during the outage: its outcome must wait
    for the database instead of being lost (and the invoice sent again later)."""
    started = time.monotonic()
    pg, worker = gw.pg, gw.worker
    inbox, channel = sftp_inbox(ssh_server, tmp_path)
    setup = prepare(gw, box, engine, "outage-record", channel)
    ssh_server.freeze(True)  # connections wait in the kernel's queue: no SSH banner until thawed
    try:
        delivery_id = submit(setup, "OUT-HELD-0001")
        ((name, sha256),) = stored_documents(setup).values()
        wait_for(lambda: statuses(setup)[delivery_id] == "sending", 30, "the worker to claim it", worker)
        pg.stop("fast")
        down_at = time.monotonic()
    finally:
        ssh_server.freeze(False)  # well within the connector's 10 s banner timeout
    wait_for((inbox / name).exists, 15, "the upload to complete during the outage", worker)
    assert not pg.running
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
    pg.start()
    back_at = time.monotonic()
    wait_for(lambda: statuses(setup)[delivery_id] == "delivered", 30, "the attempt to be recorded", worker)
    recorded = time.monotonic() - back_at
    assert worker.alive(), worker.output()

    events = transport_events(setup)[delivery_id]
    assert [st for st, _ in events][-3:] == ["queued", "sending", "delivered"], events
    assert [st for st, _ in events].count("sending") == 1, events  # one attempt: nothing sent twice
    with gw.store.engine.connect() as conn:
        attempts = conn.execute(
            text("SELECT attempts FROM deliveries WHERE id = :d"), {"d": delivery_id}
        ).scalar()
    assert attempts == 1
    assert events[-1][1] == "uploaded"  # written by that one attempt, not found by a second one
    assert os.listdir(inbox) == [name]
    assert hashlib.sha256((inbox / name).read_bytes()).hexdigest() == sha256
    report(
        "Send finished during a database outage",
        scenario=time.monotonic() - started,
        down_for=back_at - down_at,
        recorded_after_return=recorded,
    )
