"""The database schema, as SQLAlchemy Core tables (the migrations create the same)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "api_keys",
    "connect_sessions",
    "connections",
    "console_sessions",
    "credentials",
    "deliveries",
    "events",
    "integrations",
    "metadata",
    "oauth_states",
    "pending_runs",
    "runs",
    "subscriptions",
    "teams",
    "vault_keys",
]

metadata = MetaData()

connections = Table(
    "connections",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("integration_id", String(100), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("scheme", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("config", Text, nullable=False, default="{}"),
    Column("base_url", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("team_id", String(64), nullable=False, index=True, server_default="local"),
    Column("end_user_id", String(200), nullable=True, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Set when its owner deleted it and its subscriptions are still being unsubscribed at the
    # provider: readers treat it as gone. The lease is the claim of the process finishing it.
    Column("deleting_since", DateTime(timezone=True), nullable=True, index=True),
    Column("deleting_lease_until", DateTime(timezone=True), nullable=True),
)

# Ciphertext only. `record_id` is a connection id or another owner such as "oauth-app:github".
credentials = Table(
    "credentials",
    metadata,
    Column("record_id", String(200), primary_key=True),
    Column("connection_id", String(64), ForeignKey("connections.id", ondelete="CASCADE"), nullable=True),
    Column("key_id", String(40), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

integrations = Table(
    "integrations",
    metadata,
    Column("team_id", String(64), primary_key=True),
    Column("id", String(100), primary_key=True),
    Column("definition", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

vault_keys = Table(
    "vault_keys",
    metadata,
    Column("kid", String(40), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("master_kid", String(40), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The state itself is never stored, only its SHA-256: a copy of the database cannot complete a
# flow. The PKCE verifier or OAuth 1.0a request secret is sealed in `credentials` under
# "oauth-state:<hash>", so key rotation and deletion treat it like any other secret.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("connection_id", String(64), ForeignKey("connections.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # A JSON list: where connect pages may send end users back to (`redirect_url` on a session).
    Column("redirect_urls", Text, nullable=False, server_default="[]"),
)

# Keys are 256-bit random strings, so a plain SHA-256 is a safe verifier (no password hashing needed).
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("team_id", String(64), ForeignKey("teams.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

connect_sessions = Table(
    "connect_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("team_id", String(64), nullable=False, index=True),
    Column("integration_id", String(100), nullable=False),
    Column("schemes", Text, nullable=False),
    Column("end_user_id", String(200), nullable=True),
    Column("csrf_token", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("connection_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("redirect_url", Text, nullable=True),
)

# A signed-in operator of the console. The cookie holds the session id; only its SHA-256 is stored,
# and the session ends with its key (revoking the key signs it out).
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("team_id", String(64), ForeignKey("teams.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("key_id", String(32), ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(64), nullable=False),
    Column("connection_id", String(64), nullable=False),
    Column("action", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("upstream_status", Integer, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_runs_connection_created", "connection_id", "created_at"),
)

# Action runs answered asynchronously (the aiXplain wire protocol's poll URLs). The result itself is
# user data: it is sealed in `credentials` under "pending-run:<request_id>", so key rotation
# re-seals it and deleting the connection deletes it.
pending_runs = Table(
    "pending_runs",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("team_id", String(64), nullable=False),
    Column("connection_id", String(64), ForeignKey("connections.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("action", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# A trigger switched on for one connection (DESIGN.md §10). The webhook token is looked up by its
# SHA-256; the token itself and both secrets are sealed in `credentials` under
# "subscription:<id>" (with the connection id, so that deleting the connection deletes them).
# `next_poll_at`, `poll_failures` and `lease_until` belong to a poll trigger's polls.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("team_id", String(64), nullable=False, index=True),
    Column("connection_id", String(64), ForeignKey("connections.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("integration_id", String(100), nullable=False),
    Column("trigger", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("config", Text, nullable=False, default="{}"),
    Column("status", String(20), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("provider_id", String(200), nullable=True),
    Column("target_url", Text, nullable=True),
    Column("poll_state", Text, nullable=True),
    Column("next_poll_at", DateTime(timezone=True), nullable=True, index=True),
    Column("poll_failures", Integer, nullable=False, default=0),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The subscribe or unsubscribe job of a `pending` or `deleting` subscription: when its next
    # attempt is due, how many attempts failed, and the claim of the process making one.
    Column("job_due_at", DateTime(timezone=True), nullable=True, index=True),
    Column("job_attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("job_lease_until", DateTime(timezone=True), nullable=True),
)

# One occurrence, stored before it is acknowledged. `seq` is the arrival order `after` pages by;
# a provider's delivery id is unique per subscription, so a repeat is stored once.
events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("subscription_id", String(64), ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(200), nullable=False),
    Column("data", Text, nullable=False),
    Column("delivery_id", String(200), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("subscription_id", "delivery_id", name="uq_events_subscription_delivery"),
    Index("ix_events_subscription_seq", "subscription_id", "seq"),
)

# A push of one event to its subscription's target_url. `lease_until` marks an attempt in
# progress: a process that dies mid-attempt leaves a lease that runs out, and the delivery is
# taken again (at least once; the receiver sees the same webhook-id).
deliveries = Table(
    "deliveries",
    metadata,
    Column("event_id", String(64), ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("subscription_id", String(64), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", DateTime(timezone=True), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_deliveries_status_next", "status", "next_at"),
)
