"""Alembic environment: run by ``gateway.store.migrate.migrate`` on the store's own connection.

There is no ``alembic.ini`` at run time: ``migrate()`` builds the configuration in code and
hands its open connection over in ``config.attributes["connection"]``. Run from the command
line (``alembic -c <ini>``) it falls back to ``GATEWAY_DATABASE_URL`` / the embedded SQLite.

Tables that are not ours (procrastinate's ``procrastinate_*`` on PostgreSQL, created by a
later migration from procrastinate's own SQL) are invisible to autogenerate, so a
comparison with ``Base.metadata`` only ever reports drift in the gateway's tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from gateway.store.migrate import include_object
from gateway.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        # SQLite cannot ALTER most things: later migrations use batch mode (copy and move)
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from gateway.store import Store

    store = Store.open(context.config.get_main_option("sqlalchemy.url") or None)
    try:
        with store.engine.begin() as conn:
            _run(conn)
    finally:
        store.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against a database")
run()
