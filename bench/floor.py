"""B2's floor: the hand-written proxy a user would compare `plughub serve` with.

A Starlette route that parses `{"inputs": {...}}`, sends the GET to the upstream with a fixed
bearer token through one `aiohttp.ClientSession` per worker, and returns the upstream's JSON. No
key check, no database, no validation, no audit: what is left is the HTTP work both must do.
Run under uvicorn with its defaults: `python -m uvicorn bench.floor:app --workers 2`, with
`BENCH_FLOOR_UPSTREAM` set to the upstream's URL (`bench.throughput` does it).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.common import TOKEN

__all__ = ["PATH", "app"]

PATH = "/run"
_HEADERS = {"Authorization": f"Bearer {TOKEN}"}
_session: dict[str, aiohttp.ClientSession] = {}


async def run(request: Request) -> Response:
    inputs: dict[str, Any] = json.loads(await request.body())["inputs"]
    url = f"{os.environ['BENCH_FLOOR_UPSTREAM']}/items/{inputs['item_id']}"
    params = {"verbose": "true"} if inputs.get("verbose") else None
    async with _session["upstream"].get(url, params=params, headers=_HEADERS) as answer:
        payload = await answer.json()
    return Response(json.dumps(payload), status_code=answer.status, media_type="application/json")


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        _session["upstream"] = session
        yield


app = Starlette(routes=[Route(PATH, run, methods=["POST"])], lifespan=lifespan)
