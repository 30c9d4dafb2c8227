"""Tenancy and audit: teams, API keys, connect sessions, runs; team and end user on connections.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("team_id", sa.String(64), nullable=False, server_default="local"))
        batch.add_column(sa.Column("end_user_id", sa.String(200), nullable=True))
        batch.create_index("ix_connections_team_id", ["team_id"])
        batch.create_index("ix_connections_end_user_id", ["end_user_id"])
    # User integrations become per team: the primary key is (team_id, id).
    op.create_table(
        "integrations_by_team",
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO integrations_by_team (team_id, id, definition, created_at) "
        "SELECT 'local', id, definition, created_at FROM integrations"
    )
    op.drop_table("integrations")
    op.rename_table("integrations_by_team", "integrations")
    op.create_table(
        "teams",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "connect_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False, index=True),
        sa.Column("integration_id", sa.String(100), nullable=False),
        sa.Column("schemes", sa.Text, nullable=False),
        sa.Column("end_user_id", sa.String(200), nullable=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connection_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("upstream_status", sa.Integer, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_runs_connection_created", "runs", ["connection_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_connection_created", "runs")
    for table in ("runs", "connect_sessions", "api_keys", "teams"):
        op.drop_table(table)
    with op.batch_alter_table("connections") as batch:
        batch.drop_index("ix_connections_end_user_id")
        batch.drop_index("ix_connections_team_id")
        batch.drop_column("end_user_id")
        batch.drop_column("team_id")
