"""The audit of action runs: who ran what, when, and how it ended (never inputs, outputs or secrets)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from plughub.engine.store.records import aware, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import runs as runs_table

__all__ = ["RunRecord", "RunRepository"]


@dataclass(frozen=True)
class RunRecord:
    """One action run, as audited (never inputs, outputs or secrets)."""

    team_id: str
    connection_id: str
    action: str
    status: str
    upstream_status: int | None
    error_code: str | None
    duration_ms: float
    created_at: datetime = field(default_factory=utcnow)


class RunRepository(Repository):
    """Audited action runs."""

    def record(self, run: RunRecord) -> None:
        """Append an action run to the audit."""
        self.record_many([run])

    def record_many(self, runs: builtins.list[RunRecord]) -> None:
        """Append action runs to the audit, in one transaction."""
        self.db.append(
            runs_table,
            [
                {
                    "team_id": run.team_id,
                    "connection_id": run.connection_id,
                    "action": run.action,
                    "status": run.status,
                    "upstream_status": run.upstream_status,
                    "error_code": run.error_code,
                    "duration_ms": run.duration_ms,
                    "created_at": run.created_at,
                }
                for run in runs
            ],
        )

    def list(self, connection_id: str, limit: int = 50) -> builtins.list[RunRecord]:
        """A connection's runs, newest first."""
        with self.db.connect() as db:
            rows = db.execute(
                select(runs_table)
                .where(runs_table.c.connection_id == connection_id)
                .order_by(runs_table.c.created_at.desc(), runs_table.c.id.desc())
                .limit(limit)
            ).all()
        return [
            RunRecord(
                r.team_id,
                r.connection_id,
                r.action,
                r.status,
                r.upstream_status,
                r.error_code,
                r.duration_ms,
                aware(r.created_at),
            )
            for r in rows
        ]
