"""Per-server concurrency limits (``gateway/limits.py``): keys, settings, both limiters, end to end.

* Keys and ``max_connections`` validation: pure unit tests.
* ``LocalLimiter`` (SQLite, one process): threads competing never exceed K.
* ``PostgresLimiter``: processes competing never exceed K (their hold intervals, taken with
  the system-wide monotonic clock, are compared); a holder killed with SIGKILL, or whose
  connection the server ends, frees its slot; a released slot never stays locked on a pooled
  connection. These use the admin database with a random key per test (advisory locks are
  per database; a random key keeps concurrent runs apart).
* ``run_delivery`` and the in-process runner: ``throttled`` leaves the row untouched, the slot
  is held for exactly the attempt, a throttled delivery is retried soon without spinning and
  does not hold up deliveries to other servers.
* End to end against a real OpenSSH sshd (``tests/connectors/sshd.py``), N deliveries over two
  channels on one server with ``max_connections=2``: by the in-process runner (SQLite, the
  default pooling SFTP connector) and by two ``gateway worker`` processes on PostgreSQL.
  What the server sees is counted by the kernel: the ESTABLISHED TCP sockets whose local port
  is sshd's, sampled over netlink (``server_connections``) every few milliseconds.
  (``SshServer.connections()`` counts sshd's per-connection child processes, which outlive the
  client's close by some milliseconds, so it over-counts a slot handed from one attempt to the
  next; it is sampled for the failure message only.) The attempts
  themselves are recorded as monotonic intervals around ``send`` and their overlap computed
  exactly.

N is ``GATEWAY_TEST_LIMIT_DELIVERIES`` (default 20).
"""

# The shared fixtures are imported by name (pytest finds them in the module): F401/F811 are expected.
# ruff: noqa: F401, F811

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, text, update
from sqlalchemy.pool import NullPool, QueuePool

from connectors.base import DeliveryResult, OutgoingDocument
from connectors.sftp import SftpConnector
from gateway import jobs
from gateway.delivery import THROTTLED, run_delivery
from gateway.limits import (
    DEFAULT_MAX_CONNECTIONS,
    Limit,
    LocalLimiter,
    PostgresLimiter,
    Slot,
    advisory_key,
    limit_for,
    limiter_for,
    throttle_delay,
)
from gateway.metrics import REGISTRY
from gateway.recipients import RecipientIn, SftpSettings, channel_settings
from gateway.runner import InProcessRunner
from gateway.secretbox import SecretBox
from gateway.store import Store, repository
from gateway.store.migrate import migrate
from gateway.store.models import Delivery
from gateway.store.testing import fresh_database, require_postgres
from tests.connectors import sshd
from tests.gateway.delivery_env import (
    FakeConnector,
    add_delivery_rows,
    box,
    delivery,
    make_delivery,
    store,
    store_templates,
    tenant_id,
    transport_events,
)
from tests.gateway.store.data import recipient_data

ROOT = Path(__file__).resolve().parents[2]
DELIVERIES = int(os.environ.get("GATEWAY_TEST_LIMIT_DELIVERIES", "20"))
needs_sshd = pytest.mark.skipif(sshd.available() is not None, reason=str(sshd.available()))


def _wait(predicate: Callable[[], bool], timeout: float, what: str, detail: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail()}")


def max_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """The most intervals open at one instant (one ending when another starts: not overlapping)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


# ---------------------------------------------------------------------------- keys


SFTP = {"host": "SFTP.Example.com", "port": 22, "username": "a", "host_key": "SHA256:" + "A" * 43}


def test_the_key_is_the_server_endpoint_and_sftp_defaults_to_four() -> None:
    assert DEFAULT_MAX_CONNECTIONS["sftp"] == 4
    assert limit_for("sftp", SFTP) == Limit("sftp://sftp.example.com:22", 4)
    assert limit_for("sftp", {"host": "sftp.example.com", "username": "x"}) == Limit(
        "sftp://sftp.example.com:22", 4
    )  # the port's default
    # two recipients (other user, other folder) on one server share the key
    other = {**SFTP, "username": "b", "remote_path": "/other/{filename}", "max_connections": 2}
    assert limit_for("sftp", other) == Limit("sftp://sftp.example.com:22", 2)
    assert limit_for("sftp", {**SFTP, "port": 2222}) == Limit("sftp://sftp.example.com:2222", 4)
    assert limit_for("sftp", {**SFTP, "host": "::1"}) == Limit("sftp://[::1]:22", 4)


def test_email_and_http_are_unlimited_unless_set_and_keyed_by_host_and_port() -> None:
    smtp = {"smtp_host": "Mail.Example.com", "smtp_port": 587, "to": ["a@b.example"]}
    assert limit_for("email", smtp) is None
    assert limit_for("email", {**smtp, "max_connections": 3}) == Limit("smtp://mail.example.com:587", 3)
    implicit = {"smtp_host": "mail.example.com", "implicit_tls": True, "max_connections": 1}
    assert limit_for("email", implicit) == Limit("smtp://mail.example.com:465", 1)
    url = "https://Buyer.Example.com/cxml/in?x=1"
    assert limit_for("http", {"url": url}) is None
    assert limit_for("http", {"url": url, "max_connections": 5}) == Limit("https://buyer.example.com:443", 5)
    # ariba and http naming one server share its slots; path and query do not matter
    ariba = limit_for("ariba", {"url": "https://buyer.example.com:443/other", "max_connections": 5})
    assert ariba == Limit("https://buyer.example.com:443", 5)
    loopback = {"url": "http://127.0.0.1:8080/hook", "max_connections": 2}
    assert limit_for("http", loopback) == Limit("http://127.0.0.1:8080", 2)


def test_folder_unknown_types_and_broken_rows_are_handled_without_errors() -> None:
    assert limit_for("folder", {"path": "/srv/out", "max_connections": 1}) is None  # no server
    assert limit_for("fake", {"max_connections": 1}) is None
    assert limit_for("sftp", {}) is None  # no host: the connector fails it, nothing to limit
    assert limit_for("http", {"url": "https://h.example:notaport/", "max_connections": 1}) is None
    assert limit_for("sftp", None) is None
    # a value the registry would refuse (a row written some other way) falls back to the default
    for bad in (0, 101, "3", True, 2.5):
        assert limit_for("sftp", {**SFTP, "max_connections": bad}) == Limit("sftp://sftp.example.com:22", 4)
        assert limit_for("http", {"url": "https://h.example/", "max_connections": bad}) is None


def test_throttle_delay_is_short_and_jittered_then_slows_down_for_a_long_wait() -> None:
    def low(a: float, b: float) -> float:
        return a

    def high(a: float, b: float) -> float:
        return b

    assert throttle_delay(0.0, rng=low) == 0.2
    assert throttle_delay(0.0, rng=high) == 1.0
    assert throttle_delay(29.0, rng=high) == 1.0
    assert throttle_delay(90.0, rng=high) == pytest.approx(3.0)
    assert throttle_delay(3600.0, rng=high) == 5.0
    assert all(0.2 <= throttle_delay() <= 1.0 for _ in range(200))


# ---------------------------------------------------------------------------- settings


def _sftp_recipient(**settings: Any) -> dict[str, Any]:
    data = recipient_data()
    data["channels"][1]["settings"].update(settings)
    return data


def test_max_connections_is_validated_with_a_field_error() -> None:
    for bad in (0, 101, -1, "4", 2.5, True, [2]):
        with pytest.raises(ValidationError) as info:
            RecipientIn.model_validate(_sftp_recipient(max_connections=bad))
        (error,) = info.value.errors()
        assert error["loc"][-2:] == ("settings", "max_connections"), error
        assert "max_connections must be a whole number from 1 to 100" in error["msg"]
    for good in (1, 100):
        recipient = RecipientIn.model_validate(_sftp_recipient(max_connections=good))
        assert channel_settings(recipient.channels[1])["max_connections"] == good
    # not given: nothing stored, so the channel type's default applies (and may change later)
    plain = RecipientIn.model_validate(recipient_data())
    assert "max_connections" not in channel_settings(plain.channels[1])
    # ariba takes it too; a folder has no server to limit
    data = recipient_data()
    data["channels"][2]["settings"]["max_connections"] = 3
    assert RecipientIn.model_validate(data).channels[2].settings.max_connections == 3  # type: ignore[union-attr]
    data["channels"][0]["settings"]["max_connections"] = 3
    with pytest.raises(ValidationError, match="max_connections"):
        RecipientIn.model_validate(data)
    assert SftpSettings(**SFTP, max_connections=7).max_connections == 7


# ---------------------------------------------------------------------------- in-process limiter


def test_the_local_limiter_never_gives_more_than_k_slots_to_competing_threads() -> None:
    limiter = LocalLimiter()
    limit = Limit(f"sftp://{uuid.uuid4().hex}.example:22", 3)
    held: list[int] = []
    most = 0
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + 0.5

    def compete() -> None:
        nonlocal most
        while time.monotonic() < stop:
            slot = limiter.try_acquire(limit)
            if slot is None:
                time.sleep(0.0005)
                continue
            with slot:
                with lock:
                    if slot.index in held:
                        errors.append(f"slot {slot.index} given twice")
                    held.append(slot.index)
                    most = max(most, len(held))
                time.sleep(0.001)
                with lock:
                    held.remove(slot.index)

    threads = [threading.Thread(target=compete) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors
    assert most == 3  # reached, never exceeded
    assert limiter.holders(limit) == 0
    # released slots are reusable; release is idempotent; another capacity takes its first K
    a, b, c = (limiter.try_acquire(limit) for _ in range(3))
    assert a is not None
    assert b is not None
    assert c is not None
    assert limiter.try_acquire(limit) is None
    assert limiter.try_acquire(Limit(limit.key, 2)) is None  # slots 0 and 1 are taken
    a.release()
    a.release()
    assert limiter.holders(limit) == 2
    d = limiter.try_acquire(Limit(limit.key, 2))
    assert d is not None
    assert d.index == a.index
    for slot in (b, c, d):
        slot.release()
    assert limiter.holders(limit) == 0


# ---------------------------------------------------------------------------- PostgreSQL limiter


HOLDER = """
import os, sys, time
from gateway.limits import Limit, PostgresLimiter

url, key, capacity, mode, out = sys.argv[1:6]
limiter = PostgresLimiter(url, pool_size=1)
limit = Limit(key, int(capacity))
if mode == "hold":
    deadline = time.monotonic() + 30
    slot = limiter.try_acquire(limit)
    while slot is None and time.monotonic() < deadline:
        time.sleep(0.01)
        slot = limiter.try_acquire(limit)
    print("held" if slot is not None else "none", flush=True)
    time.sleep(600)
else:  # compete from the wall-clock time ``mode`` for one second, record each hold
    start_at = float(mode)
    time.sleep(max(0.0, start_at - time.time()))
    stop = time.monotonic() + 1.0
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    while time.monotonic() < stop:
        slot = limiter.try_acquire(limit)
        if slot is None:
            time.sleep(0.002)
            continue
        began = time.monotonic()
        time.sleep(0.01)
        ended = time.monotonic()
        slot.release()
        os.write(fd, f"{began} {ended}\\n".encode())
    os.close(fd)
"""


def _python(*args: str, **popen: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", HOLDER, *args], cwd=ROOT, env=env, **popen)


def _acquire_within(limiter: PostgresLimiter, limit: Limit, timeout: float) -> Slot:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        slot = limiter.try_acquire(limit)
        if slot is not None:
            return slot
        time.sleep(0.05)
    raise AssertionError(f"no slot of {limit.key} within {timeout} s")


@pytest.fixture
def pg_url() -> str:
    return require_postgres()


def _locks_on_pooled_limiter_connections(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND a.application_name = 'gateway-limiter' "
                        "AND a.datname = current_database() AND a.state = 'idle'"
                    )
                ).scalar()
                or 0
            )
    finally:
        engine.dispose()


def test_postgres_slots_are_shared_by_connections_and_never_stay_on_a_pooled_one(pg_url: str) -> None:
    limit = Limit(f"sftp://{uuid.uuid4().hex}.example:22", 2)
    one, two = PostgresLimiter(pg_url, pool_size=2), PostgresLimiter(pg_url, pool_size=2)
    try:
        a = one.try_acquire(limit)
        b = two.try_acquire(limit)
        assert a is not None
        assert b is not None
        assert {a.index, b.index} == {0, 1}
        assert one.try_acquire(limit) is None
        assert two.try_acquire(limit) is None
        assert one.holders(limit) == two.holders(limit) == 2
        a.release()
        a.release()  # idempotent
        c = two.try_acquire(limit)
        assert c is not None
        assert c.index == a.index
        for slot in (b, c):
            slot.release()
        assert one.holders(limit) == 0
        # the released connections went back to the pools, holding nothing
        for pool in (one.engine.pool, two.engine.pool):
            assert isinstance(pool, QueuePool)
            assert pool.checkedin() >= 1
        assert _locks_on_pooled_limiter_connections(pg_url) == 0
        # a mixed capacity uses the first K slots of the same key
        held = [s for s in (one.try_acquire(Limit(limit.key, 1)),) if s is not None]
        assert [s.index for s in held] == [0]
        assert two.try_acquire(Limit(limit.key, 1)) is None
        other = two.try_acquire(limit)
        assert other is not None
        assert other.index == 1
        for slot in (*held, other):
            slot.release()
        assert advisory_key(limit.key) == advisory_key(limit.key) != advisory_key(limit.key + "x")
    finally:
        one.close()
        two.close()


def test_postgres_processes_competing_never_hold_more_than_k(pg_url: str, tmp_path: Path) -> None:
    key, capacity = f"sftp://{uuid.uuid4().hex}.example:22", 2
    out = tmp_path / "holds.txt"
    start_at = f"{time.time() + 1.5:.3f}"  # after every process has imported and connected
    procs = [
        _python(
            pg_url, key, str(capacity), start_at, str(out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(4)
    ]
    try:
        outputs = [p.communicate(timeout=30)[0].decode(errors="replace") for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    assert all(p.returncode == 0 for p in procs), outputs
    holds = intervals(out)
    assert len(holds) >= 20, outputs  # they did compete
    assert max_overlap(holds) == capacity  # reached, never exceeded


def test_a_holder_killed_with_sigkill_frees_its_slot(pg_url: str) -> None:
    limit = Limit(f"sftp://{uuid.uuid4().hex}.example:22", 1)
    holder = _python(pg_url, limit.key, "1", "hold", "-", stdout=subprocess.PIPE)
    limiter = PostgresLimiter(pg_url, pool_size=1)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"held"
        assert limiter.try_acquire(limit) is None
        assert limiter.holders(limit) == 1
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        _acquire_within(limiter, limit, 15).release()
        assert limiter.holders(limit) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
        limiter.close()


def test_a_slot_whose_connection_the_server_ended_is_free_and_its_release_is_quiet(pg_url: str) -> None:
    limit = Limit(f"sftp://{uuid.uuid4().hex}.example:22", 1)
    limiter, other = PostgresLimiter(pg_url, pool_size=1), PostgresLimiter(pg_url, pool_size=1)
    admin = create_engine(pg_url, poolclass=NullPool)
    try:
        slot = limiter.try_acquire(limit)
        assert slot is not None
        with admin.connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND objsubid = 2 AND granted AND classid = CAST(CAST(:k AS integer) AS oid)"
                ),
                {"k": advisory_key(limit.key)},
            ).all()
        assert [row[0] for row in ended] == [True]
        freed = _acquire_within(other, limit, 15)
        slot.release()  # logs, invalidates the dead connection, raises nothing
        again = limiter.try_acquire(Limit(limit.key, 2))  # the pool hands out a live connection
        assert again is not None
        assert again.index == 1
        for held in (freed, again):
            held.release()
        assert limiter.holders(limit) == 0
    finally:
        limiter.close()
        other.close()
        admin.dispose()


# ---------------------------------------------------------------------------- run_delivery


def _limited(store: Store, tenant_id: str, host: str, capacity: int, **kw: Any) -> str:
    """A delivery on an "sftp" channel (a fake connector plays the server) limited to ``capacity``."""
    did = make_delivery(store, tenant_id, channel_type="sftp", **kw)
    settings = {"host": host, "port": 22, "username": "u", "max_connections": capacity}
    with store.session() as s:
        s.execute(update(Delivery).where(Delivery.id == did).values(settings=settings))
    return did


def _throttled_count(channel: str) -> float:
    return REGISTRY.get_sample_value("gateway_delivery_throttled_total", {"channel": channel}) or 0.0


def _row(store: Store, tenant_id: str, did: str) -> tuple[Any, ...]:
    d = delivery(store, did)
    return (
        d.status,
        d.attempts,
        d.version,
        d.updated_at,
        d.next_attempt_at,
        transport_events(store, tenant_id, did),
    )


def test_a_full_server_throttles_the_attempt_and_leaves_the_row_untouched(
    store: Store, tenant_id: str, box: SecretBox
) -> None:
    host = f"{uuid.uuid4().hex}.example"
    did = _limited(store, tenant_id, host, 1)
    limit = limit_for("sftp", {"host": host, "port": 22, "max_connections": 1})
    assert limit is not None
    limiter = limiter_for(store)
    fake = FakeConnector()
    held = limiter.try_acquire(limit)  # someone else is sending to this server
    assert held is not None
    before, counted = _row(store, tenant_id, did), _throttled_count("sftp")
    try:
        assert run_delivery(store, did, connectors={"sftp": fake}, box=box) == THROTTLED
        assert _row(store, tenant_id, did) == before
        assert fake.calls == []
        assert _throttled_count("sftp") == counted + 1
    finally:
        held.release()
    assert run_delivery(store, did, connectors={"sftp": fake}, box=box) == "delivered"
    assert [c[0] for c in fake.calls] == [did]
    assert limiter.holders(limit) == 0


class _Watching(FakeConnector):
    """Checks, inside each send, that the attempt holds its slot; optionally raises."""

    def __init__(self, check: Callable[[], None], outcomes: Sequence[Any] = ()) -> None:
        super().__init__(outcomes)
        self.check = check

    def send(
        self,
        documents: Sequence[OutgoingDocument],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        delivery_id: str,
    ) -> DeliveryResult:
        self.check()
        return super().send(documents, settings, secrets, delivery_id=delivery_id)


def test_the_slot_is_held_for_the_attempt_and_given_back_whatever_happens(
    store: Store, tenant_id: str, box: SecretBox
) -> None:
    host = f"{uuid.uuid4().hex}.example"
    limit = Limit(f"sftp://{host}:22", 2)
    limiter = limiter_for(store)
    seen: list[int] = []
    watching = _Watching(lambda: seen.append(limiter.holders(limit)), [RuntimeError("connector bug")])
    first, second = _limited(store, tenant_id, host, 2), _limited(store, tenant_id, host, 2)
    assert run_delivery(store, first, connectors={"sftp": watching}, box=box) == "retrying"
    assert run_delivery(store, second, connectors={"sftp": watching}, box=box) == "delivered"
    assert seen == [1, 1]
    assert limiter.holders(limit) == 0
    # not claimable now (retrying, not due): not throttled even when the server is full
    held = [limiter.try_acquire(limit) for _ in range(2)]
    try:
        counted = _throttled_count("sftp")
        assert run_delivery(store, first, connectors={"sftp": watching}, box=box) == "retrying"
        assert run_delivery(store, second, connectors={"sftp": watching}, box=box) == "delivered"
        assert _throttled_count("sftp") == counted
    finally:
        for slot in held:
            assert slot is not None
            slot.release()


def test_the_runner_retries_a_throttled_delivery_soon_without_spinning_or_blocking_others(
    store: Store, tenant_id: str, box: SecretBox
) -> None:
    host = f"{uuid.uuid4().hex}.example"
    limit = Limit(f"sftp://{host}:22", 1)
    limiter = limiter_for(store)
    limited = [_limited(store, tenant_id, host, 1) for _ in range(5)]
    unlimited = make_delivery(store, tenant_id)  # another server, queued after them
    fake = FakeConnector()
    held = limiter.try_acquire(limit)
    assert held is not None
    runner = InProcessRunner(store, {"sftp": fake, "fake": fake}, box, poll_interval=0.05, concurrency=1)
    runner.start()
    try:
        # the five wait for the full server; the delivery behind them is not held up
        _wait(lambda: delivery(store, unlimited).status == "delivered", 15, "the unlimited delivery")
        _wait(lambda: runner.throttled >= 5, 15, "every limited delivery to be tried")
        tried, since = runner.throttled, time.monotonic()
        time.sleep(1.0)
        rate = (runner.throttled - tried) / (time.monotonic() - since)
        # each waits 0.2–1.0 s between tries: about 8/s for five; a busy loop makes thousands
        assert rate < 40, rate
        assert all(delivery(store, d).status == "queued" for d in limited)
    finally:
        held.release()
    try:
        _wait(lambda: all(delivery(store, d).status == "delivered" for d in limited), 15, "the five")
    finally:
        assert runner.stop(timeout=5)
    assert sorted(c[0] for c in fake.calls) == sorted([*limited, unlimited])


# ---------------------------------------------------------------------------- end to end (sshd)


def server_connections(port: int) -> int:
    """ESTABLISHED TCP connections whose local port is ``port`` (the server's side), per the kernel.

    Asked over netlink (sock_diag, what ``ss`` uses): the kernel walks its table in well under a
    millisecond, so one answer is one instant. ``/proc/net/tcp`` is the fallback; on a busy
    machine reading it takes milliseconds, during which a connection closing and the next one
    opening can both be counted.
    """
    try:
        return _established_netlink(port)
    except OSError:
        pass
    suffix = f":{port:04X}"
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[3] == "01" and fields[1].endswith(suffix):
                count += 1
    return count


def _established_netlink(port: int) -> int:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4)  # NETLINK_SOCK_DIAG
    sock.settimeout(2.0)
    try:
        # inet_diag_req_v2: family, protocol, ext, pad, states (1 << TCP_ESTABLISHED), a zero sockid
        request = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 1 << 1) + bytes(48)
        # nlmsghdr: length, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, sequence, port id
        sock.sendto(struct.pack("=IHHII", 16 + len(request), 20, 0x301, 1, 0) + request, (0, 0))
        count = 0
        for _ in range(10_000):
            data = sock.recv(1 << 16)
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind == 3:  # NLMSG_DONE
                    return count
                if kind == 2 or length < 16:  # NLMSG_ERROR
                    raise OSError("sock_diag refused the dump")
                # inet_diag_msg after the 16-byte header: family, state, timer, retrans, then sport
                if struct.unpack_from("!H", data, offset + 20)[0] == port:
                    count += 1
                offset += (length + 3) & ~3
        raise OSError("sock_diag dump did not end")
    finally:
        sock.close()


class Sampler(threading.Thread):
    """The most connections sshd had at once (kernel sockets) and its most child processes."""

    def __init__(self, server: sshd.SshServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.most = 0
        self.most_children = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.most = max(self.most, server_connections(self.server.port))
            self.samples += 1
            if self.samples % 10 == 0:
                self.most_children = max(self.most_children, self.server.connections())
            time.sleep(0.002)

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join(timeout=5)


class RecordingSftp(SftpConnector):
    """The real SFTP connector; each send's interval is appended to ``sink`` (``start end`` on
    the system-wide monotonic clock), and each transfer holds its open session ``hold`` s."""

    def __init__(self, sink: Path, hold: float, **options: Any) -> None:
        super().__init__(connect_timeout=5, auth_timeout=5, operation_timeout=10, **options)
        self.sink = sink
        self.hold = hold

    def _transfer(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(self.hold)
        return super()._transfer(*args, **kwargs)

    def send(
        self,
        documents: Sequence[OutgoingDocument],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        delivery_id: str,
    ) -> DeliveryResult:
        started = time.monotonic()
        try:
            return super().send(documents, settings, secrets, delivery_id=delivery_id)
        finally:
            fd = os.open(self.sink, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(fd, f"{started} {time.monotonic()}\n".encode())
            os.close(fd)


def intervals(sink: Path) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b, *_ in (line.split() for line in sink.read_text().splitlines())]


@pytest.fixture
def ssh_server(tmp_path: Path) -> Iterator[sshd.SshServer]:
    with sshd.running(tmp_path / "sshd") as running:
        yield running


def _sftp_deliveries(
    store: Store, box: SecretBox, server: sshd.SshServer, folders: Sequence[Path], n: int
) -> list[str]:
    """One recipient with an SFTP channel per folder, all on ``server`` with max_connections=2,
    and ``n`` invoices spread over the channels, each with one delivery (as the pipeline writes)."""
    channels = [
        {
            "type": "sftp",
            "name": f"edi-{i}",
            "settings": server.settings(f"{folder}/{{filename}}", max_connections=2),
            "secrets": {"private_key": server.client_key_pem},
        }
        for i, folder in enumerate(folders)
    ]
    data = recipient_data(name=f"Buyer {uuid.uuid4().hex[:6]}", channels=channels)
    recipient_in = RecipientIn.model_validate(data)
    ids: list[str] = []
    with store.session() as s:
        tenant, _ = repository.create_tenant(s, f"t-{uuid.uuid4().hex[:8]}")
        recipient = repository.create_recipient(s, tenant.id, recipient_in, box)
        for i in range(n):
            channel = recipient_in.channels[i % len(channels)]
            delivery_id = add_delivery_rows(
                s,
                tenant.id,
                channel_type="sftp",
                channel_name=channel.name,
                settings=channel_settings(channel),
                number=f"E-{i}",
                content=f"<Invoice>{i}</Invoice>".encode(),
                recipient_id=recipient.id,
            )
            jobs.defer_delivery(s, delivery_id)  # PostgreSQL: its job, in the same transaction
            ids.append(delivery_id)
    return ids


def _check_files(folders: Sequence[Path], n: int) -> None:
    found = {p.name: p.read_bytes() for folder in folders for p in folder.iterdir()}
    assert found == {f"E-{i}.xml": f"<Invoice>{i}</Invoice>".encode() for i in range(n)}


@needs_sshd
def test_sftp_end_to_end_in_process_the_server_never_sees_more_than_two(
    tmp_path: Path, ssh_server: sshd.SshServer, box: SecretBox
) -> None:
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    sink = tmp_path / "sends.txt"
    st = Store(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        migrate(st)
        ids = _sftp_deliveries(st, box, ssh_server, folders, DELIVERIES)
        # the default, pooling connector: its idle sessions count as connections too
        connector = RecordingSftp(sink, hold=0.05)
        runner = InProcessRunner(st, {"sftp": connector}, box, poll_interval=0.05, concurrency=6)
        with Sampler(ssh_server) as sampler:
            runner.start()
            try:
                _wait(
                    lambda: all(delivery(st, d).status == "delivered" for d in ids),
                    30,
                    "every delivery",
                    lambda: f": {[delivery(st, d).status for d in ids]}",
                )
            finally:
                assert runner.stop(timeout=10)  # closes the pooled connections
        _check_files(folders, DELIVERIES)
        sends = intervals(sink)
        assert len(sends) == DELIVERIES
        assert max_overlap(sends) == 2  # reached, never exceeded
        assert 1 <= sampler.most <= 2, (sampler.most, sampler.samples, sampler.most_children)
        assert runner.throttled >= 1
    finally:
        st.dispose()


WORKER = """
import os, sys, time
from pathlib import Path
from gateway import jobs, logging as gwlog
from gateway.secretbox import SecretBox
from tests.gateway.test_limits import RecordingSftp

gwlog.configure(json=True)
connector = RecordingSftp(Path(os.environ["SENDS"]), float(os.environ["HOLD"]), reuse=False)
jobs.run_worker(3, url=os.environ["GATEWAY_DATABASE_URL"], box=SecretBox(bytes(range(32))),
                connectors={"sftp": connector}, fetch_job_polling_interval=0.2)
"""


@needs_sshd
def test_sftp_end_to_end_with_two_workers_on_postgresql_never_more_than_two(
    tmp_path: Path, ssh_server: sshd.SshServer, box: SecretBox
) -> None:
    require_postgres()
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    sink = tmp_path / "sends.txt"
    with fresh_database(prefix="gwlimits") as url:
        st = Store(url)
        workers: list[tuple[subprocess.Popen[bytes], Path]] = []

        def logs() -> str:
            return "".join(f"\n--- {p.name} ---\n{p.read_text(errors='replace')[-3000:]}" for _, p in workers)

        try:
            migrate(st)
            ids = _sftp_deliveries(st, box, ssh_server, folders, DELIVERIES)
            env = {
                **os.environ,
                "GATEWAY_DATABASE_URL": url,
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "SENDS": str(sink),
                "HOLD": "0.05",
            }
            with Sampler(ssh_server) as sampler:
                for n in range(2):
                    log = tmp_path / f"worker-{n}.log"
                    with log.open("wb") as out:
                        proc = subprocess.Popen(
                            [sys.executable, "-c", WORKER],
                            cwd=ROOT,
                            env=env,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                        )
                    workers.append((proc, log))

                _wait(
                    lambda: all(delivery(st, d).status == "delivered" for d in ids),
                    40,
                    "every delivery",
                    logs,
                )
        finally:
            for proc, _ in workers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc, _ in workers:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            st.dispose()
    _check_files(folders, DELIVERIES)
    sends = intervals(sink)
    assert len(sends) == DELIVERIES
    assert max_overlap(sends) == 2  # across both processes: reached, never exceeded
    assert 1 <= sampler.most <= 2, (sampler.most, sampler.samples, sampler.most_children)
    throttled = sum(p.read_text(errors="replace").count('"status": "throttled"') for _, p in workers)
    assert throttled >= 1, logs()
