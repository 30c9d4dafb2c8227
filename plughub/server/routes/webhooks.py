"""`POST /webhooks/{token}`: where providers post; public (the token and the signature authenticate).

The event is stored before the answer and delivered after it (the providers' timeouts are short).
Bodies over `PLUGHUB_MAX_BODY_BYTES` are refused (413) before anything reads them.
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

__all__ = ["router"]

router = APIRouter(tags=["events"])


@router.post("/webhooks/{token}", include_in_schema=False)
async def receive(request: Request, token: str) -> Response:
    """Check a provider's webhook, store its event and answer at once."""
    engine = request.app.state.engine
    body = await request.body()
    work = partial(engine.events.receive, token, body, request.headers, request.url.query)
    answer = await engine.store.db.offload(work)
    if answer.content_type == "text/plain":
        return PlainTextResponse(answer.body, status_code=answer.status)
    return JSONResponse(answer.body, status_code=answer.status)
