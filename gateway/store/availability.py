"""Is this exception the database being unreachable, or a bug? One answer for the API and the workers.

A PostgreSQL restart, failover or overload reaches the code as one of several exceptions,
depending on where it hits: SQLAlchemy's ``OperationalError`` (connection refused, "server
closed the connection unexpectedly", ``57P01`` admin shutdown), its pool's ``TimeoutError``,
psycopg's own errors (the procrastinate job queue talks psycopg directly, wrapped in its
``ConnectorException``), ``psycopg_pool.PoolTimeout``. All of them mean "try again shortly":
the API answers 503 with ``Retry-After``, a worker reconnects, a delivery keeps its result
until it can be recorded.

Everything else is *not* an outage, even when it comes from the database driver: a
``ProgrammingError`` (bad SQL, a missing table), an ``IntegrityError`` or a ``DataError``
is a bug or bad data and must stay a logged 500. SQLite reports syntax errors and missing
tables as ``sqlite3.OperationalError`` too, so for SQLite only "locked", "busy", "unable to
open" and I/O errors count.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import exc as sa_exc

__all__ = ["database_unavailable"]

# SQLSTATE classes of operational failures outside the application's control:
# 08 connection exception, 53 insufficient resources (too many connections, disk full),
# 57 operator intervention (admin/crash shutdown, cannot connect now, query canceled),
# 58 system error (I/O).
_OUTAGE_CLASSES = frozenset({"08", "53", "57", "58"})
_SQLITE_OUTAGE = ("locked", "busy", "unable to open", "disk i/o")
_MAX_DEPTH = 12


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, what it wraps (``.orig``), its cause and its context: in that order, once each."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while todo and len(found) < _MAX_DEPTH:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        orig = getattr(current, "orig", None)
        todo.append(orig if isinstance(orig, BaseException) else None)
        todo.append(current.__cause__)
        if not current.__suppress_context__:
            todo.append(current.__context__)
    return found


def _one(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True  # SQLAlchemy's pool: a dead connection, or none free in time
    if isinstance(exc, psycopg.OperationalError):  # includes psycopg_pool.PoolTimeout
        state = exc.sqlstate
        return state is None or state[:2] in _OUTAGE_CLASSES
    if isinstance(exc, psycopg.InterfaceError):
        return "closed" in str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return any(marker in text for marker in _SQLITE_OUTAGE)
    return False


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database cannot be reached right now."""
    return any(_one(link) for link in _chain(exc))
