"""The store: SQLite (embedded default) or PostgreSQL, one schema, sessions that commit or roll back.

``Store.open()`` picks the database: ``GATEWAY_DATABASE_URL`` when set (PostgreSQL in
production: ``postgresql+psycopg://user@host/db``), else SQLite in WAL mode at
``$GATEWAY_HOME/gateway.db`` (``GATEWAY_HOME`` defaults to ``./.gateway``). ``session()``
is the unit of work: everything inside commits together or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.store.models import Base

__all__ = ["Store", "gateway_home"]


def gateway_home() -> Path:
    return Path(os.environ.get("GATEWAY_HOME", ".gateway"))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer; NORMAL is durable across a process crash in WAL
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """An engine and a session factory for one database."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
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
