"""Indexes for the dashboard's overview, so a large tenant's page reads only its week.

``deliveries (tenant_id, created_at)``: the counts by status of the day and the week.
``events (tenant_id, created_at)`` partial on the transport outcomes (delivered, retrying,
failed, rejected_technical): failures by channel and times to delivered. Without them each
overview read every delivery and every event of the tenant. The events index is partial so
that the events nobody charts (accepted, validating, queued, sending …: most of them) add
no index entry on the ingest path.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the same text as gateway.store.models.TRANSPORT_OUTCOMES_SQL when this revision was written
_OUTCOMES = sa.text(
    "axis = 'transport' AND status IN ('delivered', 'retrying', 'failed', 'rejected_technical')"
)


def upgrade() -> None:
    op.create_index("ix_deliveries_tenant_created", "deliveries", ["tenant_id", "created_at"])
    op.create_index(
        "ix_events_transport_outcomes",
        "events",
        ["tenant_id", "created_at"],
        postgresql_where=_OUTCOMES,
        sqlite_where=_OUTCOMES,
    )


def downgrade() -> None:
    op.drop_index("ix_events_transport_outcomes", table_name="events")
    op.drop_index("ix_deliveries_tenant_created", table_name="deliveries")
