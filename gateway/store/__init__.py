"""The store: SQLite (embedded default) or PostgreSQL, one schema, sessions that commit or roll back.

``Store.open()`` picks the database: ``GATEWAY_DATABASE_URL`` when set (PostgreSQL in
production: ``postgresql+psycopg://user@host/db``), else SQLite in WAL mode at
``$GATEWAY_HOME/gateway.db`` (``GATEWAY_HOME`` defaults to ``./.gateway``). ``session()``
is the unit of work: everything inside commits together or not at all.

SQLite allows one writer at a time. Its busy handler makes a waiting writer sleep and poll
(1, 2, 5 … 100 ms), so under load writers queue behind sleeps, not behind each other. Within
one process the store therefore serialises SQLite write transactions itself: the first
statement that writes (pysqlite begins the transaction there) takes a process-wide lock,
released when the transaction commits or rolls back, so the next writer starts the moment
the previous one is done. The lock is an optimisation only: after ``busy_timeout`` a writer
goes ahead without it and SQLite's own locking decides, as it does between processes (a CLI
next to ``gateway serve``). The pool is sized for the server's threads (the request threads,
the delivery runner): SQLite connections are cheap and a thread waiting for one is latency.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.store.models import Base

__all__ = ["Store", "gateway_home"]

log = logging.getLogger(__name__)

BUSY_TIMEOUT = 10.0  # seconds: SQLite's busy_timeout, and the longest wait for the writer lock
SQLITE_POOL_SIZE = 48  # ≥ anyio's 40 request threads + the runner's pool and poller
_HELD = "gateway.sqlite_write_lock"
_ENDED = "gateway.sqlite_write_ended"
_READS = ("SELECT", "PRAGMA", "WITH", "EXPLAIN")


def gateway_home() -> Path:
    return Path(os.environ.get("GATEWAY_HOME", ".gateway"))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer; NORMAL is durable across a process crash in WAL
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    cursor.close()


class _WriterLock:
    """One SQLite write transaction at a time in this process (see the module docstring).

    Held per pooled connection (its record's ``info``) from the first writing statement to
    the end of the transaction: released when the connection goes back to the pool (a
    session does that right after its commit or rollback), or at the connection's next
    statement after a commit or rollback; a pooled connection never keeps it.
    """

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._before_execute)
        for name in ("commit", "rollback"):
            event.listen(engine, name, self._ended)
        event.listen(engine.pool, "checkin", self._checkin)
        event.listen(engine.pool, "reset", self._reset)

    def _before_execute(
        self, conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        info = conn.info
        if info.get(_HELD):
            if not info.pop(_ENDED, False):
                return  # this transaction already holds it
            self._release(info)
        if statement.lstrip()[:7].upper().startswith(_READS):
            return
        if self._lock.acquire(timeout=BUSY_TIMEOUT):
            info[_HELD] = True
        else:  # a writer that never ended (a bug): go ahead, SQLite's own locking decides
            log.warning("SQLite writer lock not acquired within %.0f s; writing without it", BUSY_TIMEOUT)

    def _release(self, info: dict[str, Any]) -> None:
        info.pop(_ENDED, None)
        if info.pop(_HELD, False):
            self._lock.release()

    def _ended(self, conn: Any) -> None:
        # fired before the DBAPI commit/rollback: release once it is done (checkin, next statement)
        if conn.info.get(_HELD):
            conn.info[_ENDED] = True

    def _checkin(self, dbapi_connection: Any, connection_record: Any) -> None:
        if connection_record is not None:
            self._release(connection_record.info)

    def _reset(self, dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        if connection_record is not None:
            self._release(connection_record.info)


# Every statement planned with its parameters. psycopg prepares a statement after 5 uses and
# PostgreSQL may then keep a generic plan; one made while the tables were young (a fresh
# deployment, a batch's first invoices) tied the unique index with the tenant's index, and
# the idempotency lookup went on reading every invoice of the tenant: quadratic over a
# 10,000-invoice run. A custom plan per execution costs ~0.1 ms and is right at any size.
PG_OPTIONS = "-c plan_cache_mode=force_custom_plan"


def _sqlite_memory(url: str) -> bool:
    rest = url.split("://", 1)[-1]
    return rest in ("", "/", "/:memory:") or "mode=memory" in rest


class Store:
    """An engine and a session factory for one database."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT}
            if not _sqlite_memory(url):
                kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=16, pool_timeout=BUSY_TIMEOUT)
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
            kwargs["connect_args"] = {"options": PG_OPTIONS}
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self._writer = _WriterLock(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """The configured database (see the module docstring); creates the data folder."""
        url = url or os.environ.get("GATEWAY_DATABASE_URL")
        if not url:
            home = gateway_home()
            home.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{(home / 'gateway.db').resolve()}"
        return cls(url)

    def create_all(self) -> None:
        """Create the tables directly (tests); deployments run the Alembic migrations."""
        Base.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back on an exception."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
