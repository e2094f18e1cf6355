"""The migrations make exactly the models' schema, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from gateway.store import Store
from gateway.store.migrate import current_revision, head_revision, include_object, migrate
from gateway.store.models import Base


def test_migrated_schema_matches_models(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ on {store.engine.dialect.name}: {diff}"
    tables = set(inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrate_is_idempotent_and_at_head(store: Store) -> None:
    assert current_revision(store) == head_revision()
    migrate(store)  # a second start finds the schema at head and changes nothing
    assert current_revision(store) == head_revision()


def test_concurrent_first_starts_take_turns_on_postgresql() -> None:
    """Workers deployed at once (separate processes) migrate an empty database without racing."""
    import subprocess
    import sys

    from gateway.store.testing import fresh_database, require_postgres

    require_postgres()
    code = (
        "import sys; from gateway.store import Store; from gateway.store.migrate import migrate; "
        "s = Store(sys.argv[1]); migrate(s); s.dispose()"
    )
    with fresh_database() as url:
        procs = [
            subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        failures = []
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            if proc.returncode:
                failures.append(err[-2000:])
        assert failures == []
        store = Store(url)
        try:
            assert current_revision(store) == head_revision()
        finally:
            store.dispose()
