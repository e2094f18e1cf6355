"""Bring a database to the current schema with the packaged Alembic migrations.

``migrate(store)`` is what ``gateway serve``/``gateway worker`` and the tests call: no
``alembic.ini``, the migrations ship inside the package (``gateway/store/migrations``), and
they run on the store's own engine. On PostgreSQL a transaction-scoped advisory lock makes
concurrent starts (several workers deployed at once) take turns instead of racing to create
the same tables; the loser then finds the schema at head and does nothing.

Adding a migration: ``alembic_config()`` gives a ``Config`` for ``alembic.command.revision``;
migrations that only concern PostgreSQL (procrastinate's schema) check
``op.get_bind().dialect.name`` and do nothing on SQLite.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from gateway.store import Store

__all__ = [
    "FOREIGN_PREFIXES",
    "MIGRATIONS",
    "alembic_config",
    "current_revision",
    "head_revision",
    "include_object",
    "migrate",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# an arbitrary constant naming "the gateway's schema migration" among advisory locks
_PG_LOCK_KEY = 0x67775F6D6967  # "gw_mig"
# Alembic keeps its running context in module globals: two threads must never migrate at once
_THREAD_LOCK = threading.Lock()


# tables that are not ours (procrastinate's queue on PostgreSQL, created by revision 0002 from
# procrastinate's own SQL): autogenerate and the schema test must neither see nor drop them
FOREIGN_PREFIXES = ("procrastinate_",)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Autogenerate filter: skip reflected tables (and their indexes) that the models do not own."""
    if not reflected or compare_to is not None:
        return True
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (table or "").startswith(FOREIGN_PREFIXES)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def current_revision(store: Store) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(store: Store, revision: str = "head") -> None:
    """Upgrade the store's database to ``revision`` (default: the newest); idempotent."""
    with _THREAD_LOCK, store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        command.upgrade(alembic_config(conn), revision)
