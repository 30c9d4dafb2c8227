"""The operator's console and connect-page returns: console sessions, redirect URLs.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("key_id", sa.String(32), sa.ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("redirect_urls", sa.Text, nullable=False, server_default="[]"))
    with op.batch_alter_table("connect_sessions") as batch:
        batch.add_column(sa.Column("redirect_url", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connect_sessions") as batch:
        batch.drop_column("redirect_url")
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("redirect_urls")
    op.drop_table("console_sessions")
