"""Find a team's connection, or say it does not exist (another team's answers the same)."""

from __future__ import annotations

from plughub.engine.store import ConnectionRecord, Store
from plughub.exceptions import ConnectionNotFound

__all__ = ["find_connection", "not_found"]


def not_found(connection_id: str) -> ConnectionNotFound:
    """The error for a connection id nobody (in this team) has.

    Args:
        connection_id: The id asked for.

    Returns:
        The error; its message says how to list the connections there are.
    """
    return ConnectionNotFound(
        f"No connection with id '{connection_id}'. List them with "
        "ModelFactory.list(function_type=FunctionType.CONNECTION) or `plughub connections list`.",
        details={"id": connection_id},
    )


def find_connection(
    store: Store, connection_id: str, team: str | None, *, include_deleting: bool = False
) -> ConnectionRecord:
    """Read a connection row.

    Args:
        store: The store.
        connection_id: Its id.
        team: The team that must own it; None for any (the browser's OAuth callback).
        include_deleting: Find it also while it is being deleted.

    Returns:
        The row.

    Raises:
        ConnectionNotFound: No connection has this id, another team's has, or it is being
            deleted (unless `include_deleting`).
    """
    record = store.connections.get(connection_id, team, include_deleting=include_deleting)
    if record is None:
        raise not_found(connection_id)
    return record
