"""Health and readiness (no key needed: they reveal nothing)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> dict[str, str]:
    """The database answers."""
    with request.app.state.engine.store.db.sql_engine.connect() as db:
        db.execute(text("SELECT 1"))
    return {"status": "ready"}
