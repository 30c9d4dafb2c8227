"""Who is signed in to the console, and the checks every console page makes.

The session cookie holds only a random id (its hash is stored, with the team, the API key that
signed in, a CSRF token and an expiry). It is HttpOnly, SameSite=Strict, limited to `/console`,
and Secure when the console is served over https. Every form carries the session's CSRF token,
checked on every POST.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from plughub.engine.teams import ConsoleSessionRecord
from plughub.exceptions import PlughubError
from plughub.server.errors import status_of
from plughub.server.templating import render_page

__all__ = [
    "COOKIE",
    "PATH",
    "ConsoleRoute",
    "CsrfRefused",
    "Operator",
    "SignInRequired",
    "check_csrf",
    "page",
    "set_cookie",
]

logger = logging.getLogger("plughub.server")
COOKIE = "plughub_console"
PATH = "/console"


class SignInRequired(Exception):
    """No live session: the operator is sent to the sign-in page."""

    def __init__(self, expired: bool) -> None:
        super().__init__("sign in")
        self.expired = expired


class CsrfRefused(Exception):
    """A form's CSRF token is missing or wrong."""


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """Set one of the console's cookies: HttpOnly, SameSite=Strict, Path=/console, Secure over https.

    Args:
        request: The request (its scheme decides Secure).
        response: The response.
        name: The cookie's name.
        value: Its value.
        max_age: Seconds it lives (None: until the browser closes).
    """
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _operator(request: Request) -> ConsoleSessionRecord:
    cookie = request.cookies.get(COOKIE, "")
    session: ConsoleSessionRecord | None = request.app.state.engine.teams.console_session(cookie)
    if session is None:
        raise SignInRequired(expired=bool(cookie))
    request.state.team = session.team_id
    return session


Operator = Annotated[ConsoleSessionRecord, Depends(_operator)]
"""The signed-in operator's session (a route that takes it is for signed-in operators only)."""


def check_csrf(expected: str, sent: str) -> None:
    """Refuse a form whose CSRF token is not the expected one.

    Args:
        expected: The session's token.
        sent: The form's.

    Raises:
        CsrfRefused: They differ (or one is empty).
    """
    if not (expected and sent and hmac.compare_digest(expected.encode(), sent.encode())):
        raise CsrfRefused()


def page(
    request: Request, session: ConsoleSessionRecord, name: str, status_code: int = 200, **context: Any
) -> Response:
    """Render a console page for the signed-in operator (the layout's team name, nav and CSRF token).

    Args:
        request: The request.
        session: The operator's session.
        name: The template under `console/`.
        status_code: The HTTP status.
        **context: The template's variables.

    Returns:
        The response.
    """
    team = request.app.state.engine.teams.find_team(session.team_id)
    return render_page(
        f"console/{name}",
        status_code,
        team_name=team.name if team else session.team_id,
        csrf=session.csrf_token,
        path=request.url.path,
        **context,
    )


def _error_page(request: Request, status: int, message: str) -> Response:
    try:
        session = _operator(request)
    except SignInRequired:
        session = None
    if session is None:
        return render_page(
            "console/error.html", status, team_name=None, csrf="", path="", status=status, message=message
        )
    return page(request, session, "error.html", status, status=status, message=message)


class ConsoleRoute(APIRoute):
    """A console route: answers in HTML whatever goes wrong (FastAPI's custom route class).

    No session sends the operator to the sign-in page; a wrong CSRF token is a 403 page; plughub's
    errors are pages with their status and message (another team's id is a 404, as in the API).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:  # noqa: D102
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                target = f"{PATH}/sign-in" + ("?expired=1" if exc.expired else "")
                return RedirectResponse(target, status_code=303)
            except CsrfRefused:
                message = "This form expired or did not come from this console. Go back, reload the page and try again."
                return _error_page(request, 403, message)
            except RequestValidationError as exc:
                fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
                return _error_page(request, 422, f"Check these fields and try again: {fields}.")
            except PlughubError as exc:
                status = status_of(exc)
                if status >= 500:
                    logger.warning("console: %s", exc.message)
                return _error_page(request, status, exc.message)

        return answer
