"""Subscribe and unsubscribe jobs get columns of their own; a connection can be `deleting`.

Until now a webhook subscription's job reused the poll columns (a webhook subscription never
polls): `next_poll_at` held the next attempt, `poll_failures` the failed attempts and
`lease_until` the claim. Their values move to `job_due_at`, `job_attempts` and
`job_lease_until`, and the poll columns of webhook subscriptions are cleared.

A connection whose subscriptions are unsubscribed at the provider before it goes is deleted in
two steps: `deleting_since` marks it (readers treat it as gone), `deleting_lease_until` is the
claim of the process finishing the deletion.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("job_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("job_attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("job_lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_subscriptions_job_due_at", ["job_due_at"])
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("deleting_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("deleting_lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_connections_deleting_since", ["deleting_since"])
    op.execute(
        "UPDATE subscriptions SET job_due_at = next_poll_at, job_attempts = poll_failures, "
        "job_lease_until = lease_until, next_poll_at = NULL, poll_failures = 0, lease_until = NULL "
        "WHERE kind = 'webhook'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE subscriptions SET next_poll_at = job_due_at, poll_failures = job_attempts, "
        "lease_until = job_lease_until WHERE kind = 'webhook'"
    )
    with op.batch_alter_table("connections") as batch:
        batch.drop_index("ix_connections_deleting_since")
        batch.drop_column("deleting_lease_until")
        batch.drop_column("deleting_since")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_index("ix_subscriptions_job_due_at")
        batch.drop_column("job_lease_until")
        batch.drop_column("job_attempts")
        batch.drop_column("job_due_at")
