"""Per-server concurrency limits for deliveries: at most K attempts at once to one server.

A buyer's SFTP server (or SMTP relay, or HTTPS endpoint) may refuse, or ban, a client that
opens too many connections at once; OpenSSH's ``MaxStartups`` starts dropping new
connections from 10 unauthenticated ones. ``run_delivery`` therefore takes a *slot* before
it claims a delivery, and gives it back after recording the outcome:

* **The key** is the endpoint the channel connects to (``limit_for``): ``sftp://host:port``,
  ``smtp://host:port``, ``https://host:port`` (ariba and http share it when they name one
  server). Recipients on one server share its slots; ``folder`` is not limited.
* **The capacity K** is the channel's ``max_connections`` setting (1..100, checked by
  ``gateway.recipients``); without it, sftp has ``DEFAULT_MAX_CONNECTIONS["sftp"]`` (4) and
  the others no limit. Where recipients on one server give different values, an attempt
  takes one of the first K slots for its own K: the server never sees more attempts at once
  than the largest K, and a recipient with a smaller K never has more than K running beside
  those of its own kind.
* **Non-blocking.** ``try_acquire`` returns a slot or ``None`` at once; ``None`` makes the
  attempt ``throttled`` (the row untouched) and the caller tries again shortly
  (``throttle_delay``), so a full server never ties up a worker thread.

Two implementations, one behaviour:

* ``LocalLimiter`` (SQLite: ``gateway serve`` runs every delivery in one process): slots in
  a dictionary under a lock.
* ``PostgresLimiter`` (any number of ``gateway worker`` processes on any number of machines):
  slot ``i`` of a key is the session-level advisory lock ``(hash(key), i)``, taken with
  ``pg_try_advisory_lock`` on a connection of the limiter's own small pool and kept for the
  attempt. PostgreSQL frees a session's advisory locks when its connection ends, so a worker
  killed with SIGKILL, or whose machine vanished (TCP keepalives, about a minute), gives its
  slots back without anyone cleaning up. A slot is released with ``pg_advisory_unlock``; if
  that fails or says the lock was not held, the connection is invalidated (closed) rather
  than returned to the pool: a pooled connection never holds a lock. Who holds what is
  visible in ``pg_locks`` (``locktype = 'advisory'``, ``objsubid = 2``, application name
  ``gateway-limiter``).

Two keys whose 32-bit hashes collide share one set of slots: more throttling, never more
connections than either allows.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from gateway.store import Store

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "MAX_CONNECTIONS",
    "Limit",
    "Limiter",
    "LocalLimiter",
    "PostgresLimiter",
    "Slot",
    "advisory_key",
    "limit_for",
    "limiter_for",
    "throttle_delay",
]

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 100
"""The largest ``max_connections`` a channel may ask for."""
DEFAULT_MAX_CONNECTIONS: Mapping[str, int] = {"sftp": 4}
"""Per channel type, the limit when the channel sets none (absent: unlimited)."""
THROTTLE_MIN = 0.2  # seconds: the shortest wait before a throttled delivery is tried again
THROTTLE_MAX = 1.0  # … and the longest, while it has been waiting for less than THROTTLE_PATIENCE
THROTTLE_PATIENCE = 30.0  # seconds of waiting after which the retries slow down …
THROTTLE_CAP = 5.0  # … to at most this many seconds apart
_DEFAULT_PORTS = {"sftp": 22, "https": 443, "http": 80}


@dataclass(frozen=True)
class Limit:
    """``capacity`` attempts at once to the endpoint ``key`` (``sftp://host:22``)."""

    key: str
    capacity: int


def _capacity(channel_type: str, settings: Mapping[str, Any]) -> int | None:
    value = settings.get("max_connections")
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_CONNECTIONS:
        return value
    if value is not None:  # the registry refuses these; a row written some other way gets the default
        log.warning("ignoring max_connections=%r (not a whole number from 1 to %d)", value, MAX_CONNECTIONS)
    return DEFAULT_MAX_CONNECTIONS.get(channel_type)


def _endpoint(scheme: str, host: object, port: object) -> str | None:
    if not isinstance(host, str) or not host.strip():
        return None
    if isinstance(port, bool) or not isinstance(port, int):
        return None
    name = host.strip().strip("[]").lower()
    shown = f"[{name}]" if ":" in name else name
    return f"{scheme}://{shown}:{port}"


def _endpoint_key(channel_type: str, settings: Mapping[str, Any]) -> str | None:
    if channel_type == "sftp":
        return _endpoint("sftp", settings.get("host"), settings.get("port", _DEFAULT_PORTS["sftp"]))
    if channel_type == "email":
        port = settings.get("smtp_port") or (465 if settings.get("implicit_tls") else 587)
        return _endpoint("smtp", settings.get("smtp_host"), port)
    if channel_type in ("ariba", "http"):
        url = settings.get("url")
        if not isinstance(url, str):
            return None
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:  # a port that is not a number: the connector refuses it, nothing to limit
            return None
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            return None
        return _endpoint(scheme, parts.hostname, port or _DEFAULT_PORTS[scheme])
    return None  # folder (no server), and channel types this module does not know


def limit_for(channel_type: str, settings: Mapping[str, Any] | None) -> Limit | None:
    """The limit an attempt on this channel is subject to, or ``None`` (no limit)."""
    settings = settings or {}
    capacity = _capacity(channel_type, settings)
    if capacity is None:
        return None
    key = _endpoint_key(channel_type, settings)
    return Limit(key, capacity) if key is not None else None


def throttle_delay(waited: float = 0.0, *, rng: Callable[[float, float], float] = random.uniform) -> float:
    """Seconds before a throttled delivery is tried again, jittered so waiting ones spread out.

    0.2–1.0 s while it has been waiting for less than ``THROTTLE_PATIENCE`` seconds (a short
    burst waits little); beyond that the ceiling grows to ``THROTTLE_CAP`` (a long backlog to
    one server is not probed several times a second per delivery).
    """
    ceiling = THROTTLE_MAX
    if waited > THROTTLE_PATIENCE:
        ceiling = min(THROTTLE_CAP, THROTTLE_MAX * waited / THROTTLE_PATIENCE)
    return rng(THROTTLE_MIN, ceiling)


class Slot(Protocol):
    """A held slot; ``release()`` gives it back (idempotent). Also a context manager."""

    limit: Limit
    index: int

    def release(self) -> None: ...

    def __enter__(self) -> Slot: ...

    def __exit__(self, *exc: object) -> None: ...


class Limiter(Protocol):
    def try_acquire(self, limit: Limit) -> Slot | None:
        """A free slot among ``0 .. limit.capacity - 1`` of ``limit.key``, or ``None`` at once."""
        ...

    def holders(self, limit: Limit) -> int:
        """How many slots of ``limit.key`` are held now (by anyone this limiter can see)."""
        ...

    def close(self) -> None: ...


class _SlotBase:
    limit: Limit
    index: int

    def release(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> _SlotBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# ---------------------------------------------------------------------------- in-process


class _LocalSlot(_SlotBase):
    def __init__(self, owner: LocalLimiter, limit: Limit, index: int) -> None:
        self._owner = owner
        self.limit = limit
        self.index = index
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._owner._release(self.limit.key, self.index)


class LocalLimiter:
    """Slots counted in this process (SQLite: every delivery runs in one process)."""

    def __init__(self) -> None:
        self._held: dict[str, set[int]] = {}
        self._lock = threading.Lock()

    def try_acquire(self, limit: Limit) -> _LocalSlot | None:
        with self._lock:
            held = self._held.setdefault(limit.key, set())
            for index in range(limit.capacity):
                if index not in held:
                    held.add(index)
                    return _LocalSlot(self, limit, index)
        return None

    def _release(self, key: str, index: int) -> None:
        with self._lock:
            held = self._held.get(key)
            if held is not None:
                held.discard(index)
                if not held:
                    del self._held[key]

    def holders(self, limit: Limit) -> int:
        with self._lock:
            return len(self._held.get(limit.key, ()))

    def close(self) -> None:
        """Nothing to close: slots held now are still given back by their ``release()``."""


# ---------------------------------------------------------------------------- PostgreSQL


def advisory_key(key: str) -> int:
    """The signed 32-bit first half of the advisory lock ``(advisory_key(key), slot)``."""
    digest = hashlib.sha256(b"gateway.limit\0" + key.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


_TRY = text("SELECT pg_try_advisory_lock(:key, :slot)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key, :slot)")
# pg_locks shows a two-int4 advisory lock as classid = first key (as oid), objid = slot, objsubid = 2
_HOLDERS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid = CAST(CAST(:key AS integer) AS oid)"
)
# The server notices a vanished machine's connection (and frees its slots) after about
# idle + interval × count seconds, instead of the kernel's two hours.
_KEEPALIVES = "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"


class _PgSlot(_SlotBase):
    def __init__(self, conn: Connection, limit: Limit, key: int, index: int) -> None:
        self._conn: Connection | None = conn
        self.limit = limit
        self.index = index
        self._key = key

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            unlocked = conn.execute(_UNLOCK, {"key": self._key, "slot": self.index}).scalar()
            if unlocked is not True:  # the connection lost it (a reset?): never pool a doubtful one
                log.warning("limit %s: slot %d was no longer held at release", self.limit.key, self.index)
                conn.invalidate()
        except Exception as exc:  # the server ended the session: the lock went with it
            log.warning("limit %s: releasing slot %d: %s", self.limit.key, self.index, type(exc).__name__)
            _invalidate(conn)
        except BaseException:
            _invalidate(conn)
            raise
        finally:
            conn.close()


def _invalidate(conn: Connection) -> None:
    try:
        conn.invalidate()
    except Exception as exc:  # closing the DBAPI connection failed too: it is unusable either way
        log.warning("limiter: invalidating a connection: %s", type(exc).__name__)


class PostgresLimiter:
    """Slots as session-level advisory locks, shared by every process on the database."""

    def __init__(self, url: Any, *, pool_size: int = 8) -> None:
        self.engine: Engine = create_engine(
            url,
            isolation_level="AUTOCOMMIT",  # no transaction stays open while a slot is held
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=-1,  # never wait for a connection: overflow ones close on release
            connect_args={"application_name": "gateway-limiter", "options": _KEEPALIVES},
        )
        event.listen(self.engine, "connect", _session_settings)

    def try_acquire(self, limit: Limit) -> _PgSlot | None:
        key = advisory_key(limit.key)
        conn = self.engine.connect()
        try:
            start = random.randrange(limit.capacity)  # noqa: S311 - spreads the probes, no secret
            for step in range(limit.capacity):
                index = (start + step) % limit.capacity
                if conn.execute(_TRY, {"key": key, "slot": index}).scalar() is True:
                    return _PgSlot(conn, limit, key, index)
        except BaseException:
            # the server may have granted a lock whose answer never arrived: drop the connection
            _invalidate(conn)
            conn.close()
            raise
        conn.close()  # every try said no: nothing held, back to the pool
        return None

    def holders(self, limit: Limit) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(_HOLDERS, {"key": advisory_key(limit.key)})
            return int(count.scalar() or 0)

    def close(self) -> None:
        self.engine.dispose()


def _session_settings(dbapi_connection: Any, _record: Any) -> None:
    # a slot is held on an idle connection for as long as the send takes: a server-wide
    # idle_session_timeout (PostgreSQL 14+) must not end the session and free it mid-send
    if int(getattr(dbapi_connection.info, "server_version", 0)) >= 140000:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET idle_session_timeout = 0")
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()


# ---------------------------------------------------------------------------- per store

_LOCAL = LocalLimiter()
_SHARED: weakref.WeakKeyDictionary[Store, PostgresLimiter] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def limiter_for(store: Store) -> Limiter:
    """The limiter deliveries of ``store`` use: one per process on SQLite, PostgreSQL's otherwise."""
    if store.is_sqlite:
        return _LOCAL
    with _SHARED_LOCK:
        limiter = _SHARED.get(store)
        if limiter is None:
            limiter = PostgresLimiter(store.engine.url)
            _SHARED[store] = limiter
            weakref.finalize(store, limiter.close)
        return limiter
