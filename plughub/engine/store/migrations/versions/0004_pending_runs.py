"""Pending runs: action runs answered asynchronously, polled by request id (aiXplain wire protocol).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_runs",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(64), sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pending_runs_connection_id", "pending_runs", ["connection_id"])
    op.create_index("ix_pending_runs_expires_at", "pending_runs", ["expires_at"])


def downgrade() -> None:
    op.execute("DELETE FROM credentials WHERE record_id LIKE 'pending-run:%'")
    op.drop_index("ix_pending_runs_expires_at", "pending_runs")
    op.drop_index("ix_pending_runs_connection_id", "pending_runs")
    op.drop_table("pending_runs")
