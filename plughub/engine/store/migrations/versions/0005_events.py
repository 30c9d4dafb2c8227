"""Events: subscriptions, events and deliveries (DESIGN.md §10).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(64), sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("integration_id", sa.String(100), nullable=False),
        sa.Column("trigger", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("provider_id", sa.String(200), nullable=True),
        sa.Column("target_url", sa.Text, nullable=True),
        sa.Column("poll_state", sa.Text, nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("poll_failures", sa.Integer, nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_subscriptions_team_id", "subscriptions", ["team_id"])
    op.create_index("ix_subscriptions_connection_id", "subscriptions", ["connection_id"])
    op.create_index("ix_subscriptions_next_poll_at", "subscriptions", ["next_poll_at"])
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "subscription_id", sa.String(64), sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subscription_id", "delivery_id", name="uq_events_subscription_delivery"),
    )
    op.create_index("ix_events_subscription_seq", "events", ["subscription_id", "seq"])
    op.create_table(
        "deliveries",
        sa.Column("event_id", sa.String(64), sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_deliveries_subscription_id", "deliveries", ["subscription_id"])
    op.create_index("ix_deliveries_status_next", "deliveries", ["status", "next_at"])


def downgrade() -> None:
    op.execute("DELETE FROM credentials WHERE record_id LIKE 'subscription:%'")
    op.drop_table("deliveries")
    op.drop_table("events")
    op.drop_table("subscriptions")
