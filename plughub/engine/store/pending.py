"""Pending runs: action runs answered asynchronously and fetched later by request id.

Several server processes share them through the database: the process that ran the action writes
the outcome, any process answers the poll. The outcome is user data, so it is stored sealed (in
`credentials`, under `pending-run:<request_id>`, tied to the connection); this module only ever sees
ciphertext. Rows expire, and every new run sweeps the expired ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from plughub.engine.store.records import Sealed, aware, check_active_key, put_credentials, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import credentials, pending_runs

__all__ = ["PENDING", "PendingRunRecord", "PendingRunRepository", "pending_run_record_id"]

PENDING = "IN_PROGRESS"
"""The status of a run that has not finished."""


def pending_run_record_id(request_id: str) -> str:
    """The id under which a run's sealed outcome is stored (and bound to as associated data).

    Args:
        request_id: The run's request id.

    Returns:
        `pending-run:<request_id>`.
    """
    return f"pending-run:{request_id}"


@dataclass(frozen=True)
class PendingRunRecord:
    """A run answered asynchronously.

    Attributes:
        request_id: Its random id (the poll URL's last segment).
        team_id: The team that started it; only this team may read it.
        connection_id: The connection it runs on.
        action: The action code, as asked.
        status: `IN_PROGRESS` until the outcome is stored, then `SUCCESS` or `FAILED`.
        deadline: When a run still in progress is given up for lost (its process stopped).
        expires_at: When the row and its outcome are deleted.
        finished_at: When the outcome was stored.
        payload: The sealed outcome, once finished.
    """

    request_id: str
    team_id: str
    connection_id: str
    action: str
    status: str
    deadline: datetime
    expires_at: datetime
    finished_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    payload: bytes | None = field(default=None, repr=False)


class PendingRunRepository(Repository):
    """Pending runs, scoped by team."""

    def create(self, run: PendingRunRecord) -> None:
        """Store a run that has just started, and delete runs that expired.

        Args:
            run: The run, `IN_PROGRESS`.
        """
        # Read, then write: the write lock from the start (SQLite), else a commit by another
        # connection between the two (the audit's, say) fails the write at once as "locked".
        with self.db.transaction(lock=True) as db:
            now = utcnow()
            for (old,) in db.execute(select(pending_runs.c.request_id).where(pending_runs.c.expires_at < now)).all():
                db.execute(delete(credentials).where(credentials.c.record_id == pending_run_record_id(old)))
                db.execute(delete(pending_runs).where(pending_runs.c.request_id == old))
            db.execute(
                insert(pending_runs).values(
                    request_id=run.request_id,
                    team_id=run.team_id,
                    connection_id=run.connection_id,
                    action=run.action,
                    status=run.status,
                    deadline=run.deadline,
                    expires_at=run.expires_at,
                    finished_at=None,
                    created_at=run.created_at,
                )
            )

    def finish(self, request_id: str, status: str, sealed: Sealed) -> bool:
        """Store a run's sealed outcome and its final status, in one transaction.

        Args:
            request_id: The run.
            status: `SUCCESS` or `FAILED`.
            sealed: The sealed outcome.

        Returns:
            Whether the run was still there (its connection may have been deleted meanwhile).

        Raises:
            StaleKeyError: The outcome was sealed with a key another process rotated away.
        """
        try:
            with self.db.transaction(lock=True) as db:
                check_active_key(db, sealed.key_id)
                row = db.execute(
                    select(pending_runs.c.connection_id).where(pending_runs.c.request_id == request_id)
                ).first()
                if row is None:
                    return False
                put_credentials(db, pending_run_record_id(request_id), row.connection_id, sealed)
                db.execute(
                    update(pending_runs)
                    .where(pending_runs.c.request_id == request_id)
                    .values(status=status, finished_at=utcnow())
                )
                return True
        except IntegrityError:
            # The connection was deleted between the read and the write (PostgreSQL).
            return False

    def get(self, request_id: str, team_id: str) -> PendingRunRecord | None:
        """Find a team's run that has not expired, with its sealed outcome once finished.

        Args:
            request_id: The run.
            team_id: The team asking; another team's run is not found.

        Returns:
            The run, or None.
        """
        with self.db.connect() as db:
            row = db.execute(
                select(pending_runs).where(pending_runs.c.request_id == request_id, pending_runs.c.team_id == team_id)
            ).first()
            if row is None or aware(row.expires_at) < utcnow():
                return None
            payload = None
            if row.status != PENDING:
                payload = db.execute(
                    select(credentials.c.ciphertext).where(credentials.c.record_id == pending_run_record_id(request_id))
                ).scalar()
        return PendingRunRecord(
            request_id=row.request_id,
            team_id=row.team_id,
            connection_id=row.connection_id,
            action=row.action,
            status=row.status,
            deadline=aware(row.deadline),
            expires_at=aware(row.expires_at),
            finished_at=aware(row.finished_at) if row.finished_at else None,
            created_at=aware(row.created_at),
            payload=payload,
        )
