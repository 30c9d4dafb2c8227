"""User-defined integrations: each team's definitions, as JSON."""

from __future__ import annotations

import builtins
import json
from typing import Any

from sqlalchemy import delete, insert, select

from plughub.engine.store.records import utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import integrations

__all__ = ["IntegrationRepository"]


class IntegrationRepository(Repository):
    """The definitions teams created (`IntegrationFactory.create`, imports)."""

    def list(self) -> builtins.list[tuple[str, str, dict[str, Any]]]:
        """Return every user-created definition as `(team id, integration id, definition)`."""
        with self.db.connect() as db:
            rows = db.execute(select(integrations).order_by(integrations.c.team_id, integrations.c.id)).all()
        return [(r.team_id, r.id, json.loads(r.definition)) for r in rows]

    def get(self, team_id: str, integration_id: str) -> dict[str, Any] | None:
        """Return one of a team's user-created definitions.

        Args:
            team_id: The team.
            integration_id: Its id.

        Returns:
            The definition, or None.
        """
        with self.db.connect() as db:
            raw = db.execute(
                select(integrations.c.definition).where(
                    integrations.c.team_id == team_id, integrations.c.id == integration_id
                )
            ).scalar()
        return json.loads(raw) if raw else None

    def put(self, team_id: str, integration_id: str, definition: dict[str, Any]) -> None:
        """Store a team's user-created definition, replacing one with the same id.

        Args:
            team_id: The team.
            integration_id: Its id.
            definition: The definition as a JSON-serialisable mapping.
        """
        with self.db.transaction() as db:
            db.execute(
                delete(integrations).where(integrations.c.team_id == team_id, integrations.c.id == integration_id)
            )
            db.execute(
                insert(integrations).values(
                    team_id=team_id, id=integration_id, definition=json.dumps(definition), created_at=utcnow()
                )
            )
