"""`/connect/{token}`: the hosted connect page an end user opens (no API key: the token is the key)."""

from __future__ import annotations

import hmac
import logging
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from plughub.engine.redirects import with_outcome
from plughub.engine.teams import ConnectSessionRecord
from plughub.enums import AuthenticationSchema
from plughub.exceptions import PlughubError
from plughub.schemas import ConnectRequest, IntegrationInfo
from plughub.server.errors import status_of
from plughub.server.pages_html import connect_page, page_response, result_page
from plughub.server.templating import STYLESHEET_PATH, stylesheet

__all__ = ["router"]

logger = logging.getLogger("plughub.server")
router = APIRouter(tags=["connect page"], include_in_schema=False)
_COOKIE = "plughub_csrf"
# What the end user reads when no offered scheme can complete: the operator's reason (which
# names SDK calls and environment variables) goes to the server log instead.
UNAVAILABLE = "This connection isn't available yet; contact the application's owner."


def _session(request: Request, token: str) -> tuple[ConnectSessionRecord | None, HTMLResponse | None]:
    session = request.app.state.engine.teams.connect_session(token)
    if session is None:
        return None, page_response(result_page(False, "This connect link is not valid."), 404)
    if session.used_at is not None:
        return None, page_response(result_page(False, "This connect link was already used; ask for a new one."), 410)
    if session.expires_at < datetime.now(timezone.utc):
        return None, page_response(result_page(False, "This connect link expired; ask for a new one."), 410)
    return session, None


def _offered(request: Request, session: ConnectSessionRecord) -> list[str]:
    """The session's schemes that can complete (a sign-in needs an OAuth app); the others are logged."""
    engine = request.app.state.engine
    offered = []
    for scheme in session.schemes:
        reason = engine.oauth_apps.scheme_unavailable(
            session.integration_id, AuthenticationSchema(scheme), session.team_id
        )
        if reason is None:
            offered.append(scheme)
        else:
            logger.warning("the connect page does not offer %s for %s: %s", scheme, session.integration_id, reason)
    return offered


@router.get("/connect/{token}", response_class=HTMLResponse)
def show(request: Request, token: str) -> Response:
    """The connect page: a form per allowed scheme that can complete."""
    session, refusal = _session(request, token)
    if refusal is not None or session is None:
        return refusal or HTMLResponse(status_code=404)
    offered = _offered(request, session)
    if not offered:
        return page_response(result_page(False, UNAVAILABLE), 503)
    info = request.app.state.engine.integrations.get(session.integration_id, team=session.team_id)
    response = page_response(connect_page(info, offered, f"/connect/{token}", session.csrf_token))
    response.set_cookie(_COOKIE, session.csrf_token, httponly=True, samesite="strict", path=f"/connect/{token}")
    return response


def _data(info: IntegrationInfo, scheme: str, form: dict[str, Any]) -> dict[str, Any]:
    """Keep the scheme's declared inputs from the form, typed; drop empty optional ones."""
    declared = next((s for s in info.auth_schemes if s.scheme.value == scheme), None)
    data: dict[str, Any] = {}
    for field in declared.inputs if declared else []:
        raw = str(form.get(field.code, "")).strip()
        if raw == "":
            continue
        kind = field.json_schema.get("type")
        data[field.code] = int(raw) if kind == "integer" and raw.lstrip("-").isdigit() else raw
    return data


@router.post("/connect/{token}", response_class=HTMLResponse)
async def submit(request: Request, token: str) -> Response:
    """Connect with the submitted scheme and inputs; OAuth continues at the provider."""
    session, refusal = _session(request, token)
    if refusal is not None or session is None:
        return refusal or HTMLResponse(status_code=404)
    form = dict(await request.form())
    sent, cookie = str(form.get("csrf_token", "")), request.cookies.get(_COOKIE, "")
    if not (hmac.compare_digest(sent, session.csrf_token) and hmac.compare_digest(cookie, session.csrf_token)):
        return page_response(result_page(False, "The form expired or did not come from this page; reload it."), 403)
    engine = request.app.state.engine
    info = engine.integrations.get(session.integration_id, team=session.team_id)
    scheme = str(form.get("scheme", ""))
    if scheme not in session.schemes:
        return page_response(result_page(False, f"{scheme or 'That scheme'} is not offered here."), 400)
    offered = _offered(request, session)
    if scheme not in offered:  # the OAuth app went away since the page was shown
        return page_response(result_page(False, UNAVAILABLE), 503)
    try:
        result = engine.connections.create(
            ConnectRequest(
                integration_id=info.id,
                scheme=AuthenticationSchema(scheme),
                end_user_id=session.end_user_id,
                data=_data(info, scheme, form),
            ),
            team=session.team_id,
        )
    except PlughubError as exc:
        values = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "scheme")}
        page = connect_page(info, offered, f"/connect/{token}", session.csrf_token, exc.message, values)
        status = status_of(exc)
        return page_response(page, status if status < 500 else 400)
    if not engine.teams.use_connect_session(session, result.id):
        engine.connections.delete(result.id, team=session.team_id)
        return page_response(result_page(False, "This connect link was already used; ask for a new one."), 410)
    if result.redirect_url:  # OAuth: the callback sends the end user back to the application
        return RedirectResponse(result.redirect_url, status_code=303)
    if session.redirect_url:
        return RedirectResponse(with_outcome(session.redirect_url, result.id, result.status.value), status_code=303)
    return page_response(result_page(True, f"{info.name} is connected. You can close this window."))


@router.get(STYLESHEET_PATH)
def assets() -> Response:
    """The pages' one style sheet (the connect page's and the console's)."""
    return stylesheet()
