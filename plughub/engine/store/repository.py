"""What every repository of the store shares: the database handle."""

from __future__ import annotations

from plughub.engine.store.db import Database

__all__ = ["Repository"]


class Repository:
    """One kind of row, read and written over the store's shared database.

    Args:
        db: The database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
