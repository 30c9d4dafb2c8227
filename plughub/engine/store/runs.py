"""The audit of action runs: who ran what, when, and how it ended (never inputs, outputs or secrets)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

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
        return [_run(r) for r in rows]

    def search(
        self,
        team_id: str,
        *,
        connection_id: str | None = None,
        action: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[builtins.list[RunRecord], int]:
        """A team's runs, newest first, filtered.

        Args:
            team_id: The team.
            connection_id: Only this connection's runs.
            action: Only this action's runs.
            status: Only runs that ended so (`SUCCESS`, `FAILED`).
            since: Only runs at or after this time.
            until: Only runs before this time.
            offset: Rows to skip.
            limit: Rows to return.

        Returns:
            The page of runs and how many match in all.
        """
        conditions = [runs_table.c.team_id == team_id]
        if connection_id:
            conditions.append(runs_table.c.connection_id == connection_id)
        if action:
            conditions.append(runs_table.c.action == action)
        if status:
            conditions.append(runs_table.c.status == status)
        if since is not None:
            conditions.append(runs_table.c.created_at >= since)
        if until is not None:
            conditions.append(runs_table.c.created_at < until)
        with self.db.connect() as db:
            total = db.execute(select(func.count()).select_from(runs_table).where(*conditions)).scalar_one()
            rows = db.execute(
                select(runs_table)
                .where(*conditions)
                .order_by(runs_table.c.created_at.desc(), runs_table.c.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
        return [_run(r) for r in rows], int(total)

    def last_used(self, connection_ids: builtins.list[str]) -> dict[str, datetime]:
        """When each of some connections last ran an action (connections never run are left out)."""
        if not connection_ids:
            return {}
        with self.db.connect() as db:
            rows = db.execute(
                select(runs_table.c.connection_id, func.max(runs_table.c.created_at))
                .where(runs_table.c.connection_id.in_(connection_ids))
                .group_by(runs_table.c.connection_id)
            ).all()
        return {str(r[0]): aware(r[1]) for r in rows if r[1] is not None}


def _run(r: Any) -> RunRecord:
    return RunRecord(
        r.team_id,
        r.connection_id,
        r.action,
        r.status,
        r.upstream_status,
        r.error_code,
        r.duration_ms,
        aware(r.created_at),
    )
