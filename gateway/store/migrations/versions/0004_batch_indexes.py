"""Indexes that keep a batch's per-invoice statements constant-time on PostgreSQL.

``invoices.idempotency_key`` gets an index of its own: the lookup of a submission's key
(``repository.find_by_idempotency_key``) goes through it, never through the tenant's index.

``batch_items``: a partial index on the pending items instead of (batch_id, status). With
``(batch_id, status)`` PostgreSQL's generic plan for "this item, if still pending"
(``batch_id = ? AND position = ? AND status = 'pending'``) walked every pending item of the
batch: each item of a 10,000-invoice batch read thousands of rows, a quadratic run. The
partial index on ``(batch_id, position) WHERE status = 'pending'`` serves that statement
exactly, and the reconciler's and the runner's "what is still pending" reads.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")
_KEYED = sa.text("idempotency_key IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_invoices_idempotency_key",
        "invoices",
        ["idempotency_key"],
        postgresql_where=_KEYED,
        sqlite_where=_KEYED,
    )
    op.drop_index("ix_batch_items_batch_status", table_name="batch_items")
    op.create_index(
        "ix_batch_items_pending",
        "batch_items",
        ["batch_id", "position"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_idempotency_key", table_name="invoices")
    op.drop_index("ix_batch_items_pending", table_name="batch_items")
    op.create_index("ix_batch_items_batch_status", "batch_items", ["batch_id", "status"])
