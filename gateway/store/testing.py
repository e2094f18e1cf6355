"""Throwaway databases for tests: the same suite runs on SQLite and on PostgreSQL.

PostgreSQL is expected at ``127.0.0.1:5432`` as user ``postgres`` (trust auth) with a
database ``test`` to connect to; ``GATEWAY_TEST_PG_URL`` overrides that admin URL. Each
``fresh_database()`` is a new, uniquely named database (``gw_<hex>``), dropped at the end, so
concurrent runs and helpers never see each other's rows.

An unreachable server skips the PostgreSQL tests with a message saying so, except when
``CI`` is set: there a missing database is a broken pipeline, not a reason to go green.

``migrated_store(kind, folder)`` is what most tests want: a ``Store`` whose schema was made by
the Alembic migrations (not ``create_all``), so the tests exercise what deployments run.
``pytest`` is imported lazily: this module ships in the package but only tests call it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from gateway.store import Store

__all__ = [
    "DEFAULT_PG_ADMIN_URL",
    "PG_URL_ENV",
    "MigratedTemplates",
    "copy_sqlite",
    "fresh_database",
    "migrated_store",
    "pg_url",
    "require_postgres",
    "sqlite_url",
]

PG_URL_ENV = "GATEWAY_TEST_PG_URL"
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _admin_url() -> str:
    return os.environ.get(PG_URL_ENV) or DEFAULT_PG_ADMIN_URL


@lru_cache(maxsize=4)
def _reachable(url: str) -> str | None:
    """``None`` when the server answers, else why not (kept for the skip message)."""
    engine = create_engine(url, connect_args={"connect_timeout": 3}, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "no PostgreSQL here"
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    finally:
        engine.dispose()
    return None


def pg_url() -> str | None:
    """The admin URL of the test PostgreSQL server, or ``None`` when it does not answer."""
    url = _admin_url()
    return url if _reachable(url) is None else None


def require_postgres() -> str:
    """The admin URL; skips the calling test when PostgreSQL is unreachable (fails under ``CI``)."""
    import pytest

    url = _admin_url()
    why = _reachable(url)
    if why is None:
        return url
    shown = make_url(url).render_as_string(hide_password=True)
    message = f"PostgreSQL not reachable at {shown} ({why}); set {PG_URL_ENV} or start the server"
    if os.environ.get("CI"):
        pytest.fail(f"{message} — CI is set, so the PostgreSQL tests must run", pytrace=False)
    pytest.skip(message)
    raise AssertionError("unreachable")  # pragma: no cover - skip() raises


@contextmanager
def fresh_database(*, template: str | None = None, prefix: str = "gw") -> Iterator[str]:
    """A new empty PostgreSQL database (``<prefix>_<hex>``), yielded as a URL, dropped afterwards.

    ``template`` copies an existing database of that name (``CREATE DATABASE … TEMPLATE``): a
    migrated template makes each test's database a file copy instead of a migration run.
    Needs a reachable server: call ``require_postgres()`` first in tests.
    """
    admin = make_url(_admin_url())
    name = f"{prefix}_{uuid.uuid4().hex}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            clause = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                # FORCE (PostgreSQL 13+): a connection a test leaked must not keep the database alive
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


@contextmanager
def migrated_store(kind: str, folder: Path) -> Iterator[Store]:
    """A ``Store`` on a fresh ``"sqlite"`` (a file in ``folder``) or ``"postgresql"`` database,
    its schema created by the Alembic migrations; disposed (and dropped) at the end."""
    from gateway.store.migrate import migrate

    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"gateway-{uuid.uuid4().hex[:8]}.db"
        store = Store(sqlite_url(path))
        try:
            migrate(store)
            yield store
        finally:
            store.dispose()
    elif kind == "postgresql":
        require_postgres()
        with fresh_database() as url:
            store = Store(url)
            try:
                migrate(store)
                yield store
            finally:
                store.dispose()
    else:
        raise ValueError(f"unknown database kind {kind!r}: 'sqlite' or 'postgresql'")


def copy_sqlite(source: Path, target: Path) -> str:
    """Copy a (closed, checkpointed) SQLite file: the fast path for per-test databases."""
    shutil.copyfile(source, target)
    return sqlite_url(target)


class MigratedTemplates:
    """Migrated databases for a whole test session, emptied or copied for every test.

    The migrations run once per kind. SQLite: each test gets a copy of the migrated file.
    PostgreSQL: each test gets the session's migrated database with every table emptied
    (``DELETE`` with foreign-key triggers off, a few milliseconds), or with ``fresh=True`` a
    new database copied from it (``CREATE DATABASE … TEMPLATE``: about a second with the drop,
    for tests that need a database of their own, e.g. with concurrent processes or DDL).
    Use it from a conftest::

        @pytest.fixture(scope="session")
        def store_templates(tmp_path_factory):
            templates = MigratedTemplates(tmp_path_factory.mktemp("store"))
            yield templates
            templates.close()

        @pytest.fixture(params=["sqlite", "postgresql"])
        def store(request, store_templates):
            with store_templates.store(request.param) as store:
                yield store
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._pg_url: str | None = None
        self._pg_cm: Any = None

    def _sqlite_template(self) -> Path:
        if self._sqlite is None:
            from gateway.store.migrate import migrate

            path = self.folder / "template.db"
            store = Store(sqlite_url(path))
            try:
                migrate(store)
                with store.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                store.dispose()
            self._sqlite = path
        return self._sqlite

    def _postgres(self) -> str:
        if self._pg_url is None:
            from gateway.store.migrate import migrate

            cm = fresh_database(prefix="gw_tmpl")
            url = cm.__enter__()
            self._pg_cm = cm
            store = Store(url)
            try:
                migrate(store)
            except BaseException:
                store.dispose()
                self._pg_cm = None
                cm.__exit__(None, None, None)
                raise
            store.dispose()
            self._pg_url = url
        return self._pg_url

    @staticmethod
    def _empty(url: str) -> None:
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as conn:
                # a connection a previous test leaked must fail this loudly, not hang it
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                tables = conn.execute(
                    text(
                        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema() "
                        "AND tablename <> 'alembic_version'"
                    )
                ).scalars()
                names = list(tables)
                if not names:
                    return
                # DELETE with foreign-key triggers off (superuser) is ~50x faster than TRUNCATE on
                # tables this small: TRUNCATE makes and fsyncs a new file per table
                superuser = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
                if superuser.scalar():
                    conn.execute(text("SET LOCAL session_replication_role = replica"))
                    for name in names:
                        conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - quote_ident names
                else:
                    conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        finally:
            engine.dispose()

    @contextmanager
    def store(self, kind: str, *, fresh: bool = False) -> Iterator[Store]:
        """A ``Store`` on an empty migrated database of ``kind`` (``"sqlite"`` or ``"postgresql"``)."""
        if kind == "sqlite":
            target = self.folder / f"gateway-{uuid.uuid4().hex[:12]}.db"
            store = Store(copy_sqlite(self._sqlite_template(), target))
            try:
                yield store
            finally:
                store.dispose()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{target}{suffix}").unlink(missing_ok=True)
        elif kind == "postgresql":
            require_postgres()
            shared = self._postgres()
            if fresh:
                with fresh_database(template=make_url(shared).database) as url:
                    store = Store(url)
                    try:
                        yield store
                    finally:
                        store.dispose()
            else:
                self._empty(shared)
                store = Store(shared)
                try:
                    yield store
                finally:
                    store.dispose()
        else:
            raise ValueError(f"unknown database kind {kind!r}: 'sqlite' or 'postgresql'")

    def close(self) -> None:
        if self._pg_cm is not None:
            cm, self._pg_cm, self._pg_url = self._pg_cm, None, None
            cm.__exit__(None, None, None)
