"""procrastinate's schema (the delivery job queue), on PostgreSQL only.

``procrastinate schema --apply`` works only on an empty database and knows nothing of our
tables, so the queue's schema is applied here, in the same migration run as ours: one
command (``migrate()``, under its advisory lock) brings a database to a state where both the
API and ``gateway worker`` can start. SQLite has no job queue (``gateway serve`` runs
deliveries in-process), so this revision does nothing there.

The SQL is procrastinate's own ``schema.sql`` from the installed package. It corresponds to
procrastinate's newest migration file at the time (``SCHEMA_VERSION``), recorded as a comment
on ``procrastinate_jobs``: when a procrastinate upgrade ships new migration files, a later
revision applies the files newer than that comment (``gateway.jobs.pending_schema_migrations``)
instead of re-creating the schema.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from gateway.jobs import apply_procrastinate_schema

    apply_procrastinate_schema(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from gateway.jobs import drop_procrastinate_schema

    drop_procrastinate_schema(bind)
