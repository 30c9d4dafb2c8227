"""Runs answered asynchronously, and the poll route `GET /api/v1/data/{request_id}`.

An action run is started on a thread pool. When the answer may not wait (`/api/v1/execute`, what
the SDK's `run_async` posts) or the run outlasts `PLUGHUB_AIXPLAIN_SYNC_WAIT` (`/api/v2/execute`),
the server answers `IN_PROGRESS` with an absolute poll URL and stores a pending run in the
database; the outcome is sealed with the vault when it arrives. Any server process can then answer
the poll, so this works with `plughub serve --workers N` and several replicas on PostgreSQL.

A pending run belongs to the team that started it (another team's request id is a 404), expires an
hour after it started, and is given up for lost (answered FAILED) when it has not finished long
after the engine's timeouts would have ended it: the process running it stopped.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request

from plughub.config import Settings
from plughub.engine.actions.service import ActionService
from plughub.engine.credentials import Credentials
from plughub.engine.store import PENDING, PendingRunRecord, Store, pending_run_record_id, utcnow
from plughub.exceptions import PlughubError
from plughub.server.aixplain import envelopes
from plughub.server.aixplain.auth import TeamKey
from plughub.server.aixplain.errors import AixplainError, AixplainRoute
from plughub.server.logs import request_id_var

__all__ = ["RESULT_TTL", "Runs", "poll_url", "router"]

logger = logging.getLogger("plughub.server")

RESULT_TTL = timedelta(hours=1)
"""How long a run's outcome can be polled."""

POLL_PATH = "/api/v1/data/"


def poll_url(request: Request, request_id: str) -> str:
    """The absolute poll URL of a run, on the origin the client used (or `PLUGHUB_PUBLIC_URL`).

    The v2 SDK sends its key only to the origins it was configured with, so the URL must be on
    the same scheme, host and port as `BACKEND_URL` or `MODELS_RUN_URL`.

    Args:
        request: The request that started the run.
        request_id: The run.

    Returns:
        `<origin>/api/v1/data/<request_id>`.
    """
    settings: Settings = request.app.state.settings
    base = settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}{POLL_PATH}{request_id}"


def _run_budget(settings: Settings) -> timedelta:
    # Every attempt may take the connect and read timeouts and a wait; an OAuth refresh is one more
    # request. Twice that, plus a minute, is beyond any run that is still alive.
    attempts = max(1, settings.retry_attempts)
    once = attempts * (settings.connect_timeout + settings.read_timeout + settings.retry_max_wait)
    return timedelta(seconds=2 * once + 60)


class Runs:
    """Runs actions on a thread pool and keeps the asynchronous ones in the database.

    Args:
        actions: Runs the actions.
        store: Keeps the pending runs and their sealed outcomes.
        credentials: Seals and opens the outcomes (user data).
        settings: The timeouts, which bound how long a run may take.
        workers: Threads running actions at once in this process.
    """

    def __init__(
        self, actions: ActionService, store: Store, credentials: Credentials, settings: Settings, workers: int = 32
    ) -> None:
        self._actions = actions
        self._store = store
        self._credentials = credentials
        self._settings = settings
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plughub-aixplain-run")

    def __repr__(self) -> str:
        return "Runs()"

    def close(self) -> None:
        """Wait for the runs in progress, then stop the threads."""
        self._pool.shutdown(wait=True)

    def start(
        self,
        request: Request,
        team: str,
        connection_id: str,
        action: str,
        inputs: Any,
        wait: float,
    ) -> dict[str, Any]:
        """Run an action; answer its outcome if it comes within `wait` seconds, else a poll URL.

        Args:
            request: The request (for the poll URL's origin).
            team: The team that owns the connection.
            connection_id: The connection.
            action: The action code.
            inputs: The action's inputs, as sent.
            wait: Seconds to wait for the outcome; 0 answers asynchronously at once.

        Returns:
            The outcome's envelope, or the `IN_PROGRESS` envelope with the poll URL.
        """
        context = contextvars.copy_context()
        if wait > 0:
            future = self._pool.submit(context.run, self._run, team, connection_id, action, inputs)
            try:
                return future.result(timeout=wait)
            except FutureTimeout:
                pass
            request_id = self._pending(team, connection_id, action)
        else:
            request_id = self._pending(team, connection_id, action)
            future = self._pool.submit(context.run, self._run, team, connection_id, action, inputs)
        # Runs at once if the future is already done; the pending row exists by now either way.
        future.add_done_callback(lambda done: self._finish(request_id, done))
        return envelopes.in_progress(poll_url(request, request_id), request_id)

    def _pending(self, team: str, connection_id: str, action: str) -> str:
        request_id = "req_" + secrets.token_urlsafe(18)
        now = utcnow()
        self._store.pending_runs.create(
            PendingRunRecord(
                request_id=request_id,
                team_id=team,
                connection_id=connection_id,
                action=action[:200],
                status=PENDING,
                deadline=now + _run_budget(self._settings),
                expires_at=now + RESULT_TTL,
                created_at=now,
            )
        )
        return request_id

    def _run(self, team: str, connection_id: str, action: str, inputs: Any) -> dict[str, Any]:
        try:
            if inputs is not None and not isinstance(inputs, dict):
                raise AixplainError(
                    400, "invalid_input", f"data must be an object of the action's inputs, not {type(inputs).__name__}"
                )
            result = self._actions.run(connection_id, action, inputs or {}, team=team)
        except AixplainError as exc:
            return envelopes.failed(exc.code, exc.message, statusCode=exc.status)
        except PlughubError as exc:
            return envelopes.from_error(exc)
        except Exception as exc:
            # Only the class name: an exception's text may hold anything.
            request_id = request_id_var.get()
            logger.error("unexpected %s while running %s", type(exc).__name__, action)
            message = "an unexpected error occurred" + (f" (request id {request_id})" if request_id else "")
            return envelopes.failed("internal_error", message, statusCode=500)
        return envelopes.from_result(result)

    def _finish(self, request_id: str, future: Future[dict[str, Any]]) -> None:
        try:
            envelope = future.result()
            record_id = pending_run_record_id(request_id)

            # Sealed again if another process rotated the keys meanwhile.
            self._credentials.write(
                lambda seal: self._store.pending_runs.finish(
                    request_id, str(envelope["status"]), seal(record_id, envelope)
                )
            )
        except Exception as exc:
            logger.error("could not store the outcome of run %s: %s", request_id, type(exc).__name__)

    def outcome(self, request_id: str, team: str) -> dict[str, Any]:
        """The envelope a poll answers.

        Args:
            request_id: The run.
            team: The team asking.

        Returns:
            `IN_PROGRESS` while it runs, then its outcome; always with `completed` and `requestId`.

        Raises:
            AixplainError: 404 for an unknown, expired or other team's request id.
        """
        run = self._store.pending_runs.get(request_id, team)
        if run is None:
            raise AixplainError(
                404,
                "run_not_found",
                f"No run with request id '{request_id}' for this API key's team; outcomes are kept for "
                f"{int(RESULT_TTL.total_seconds() // 60)} minutes after a run starts. Run the action again.",
            )
        if run.status == PENDING:
            if utcnow() > run.deadline:
                body = envelopes.failed(
                    "run_lost",
                    f"the run of {run.action} did not finish: the server process running it stopped. Run it again.",
                    statusCode=500,
                )
            else:
                body = {"status": PENDING, "completed": False}
        elif run.payload is None:
            body = envelopes.failed("run_lost", f"the outcome of {run.action} is gone. Run it again.", statusCode=500)
        else:
            body = self._credentials.open(pending_run_record_id(request_id), run.payload)
        return {**body, "requestId": request_id}


router = APIRouter(route_class=AixplainRoute, include_in_schema=False, tags=["aiXplain"])


@router.get(POLL_PATH + "{request_id}")
def poll(request: Request, key: TeamKey, request_id: str) -> dict[str, Any]:
    """Poll an asynchronous run (`completed` says when to stop)."""
    runs: Runs = request.app.state.aixplain_runs
    return runs.outcome(request_id, key.team_id)
