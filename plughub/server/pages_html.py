"""The hosted connect page's HTML: the connect forms and the outcome page (templates shared with the console)."""

from __future__ import annotations

from starlette.responses import HTMLResponse

from plughub.schemas import IntegrationInfo
from plughub.server.templating import CONTENT_SECURITY_POLICY, render

__all__ = ["CONTENT_SECURITY_POLICY", "connect_page", "page_response", "result_page"]

_LABELS = {
    "API_KEY": "API key",
    "BEARER_TOKEN": "Access token",
    "BASIC": "Username and password",
    "NO_AUTH": "No credentials",
    "OAUTH2": "Sign in (OAuth 2.0)",
    "OAUTH1": "Sign in (OAuth 1.0a)",
}


def page_response(html: str, status_code: int = 200) -> HTMLResponse:
    """Answer with a page, under the pages' Content-Security-Policy and never cached.

    Args:
        html: The document.
        status_code: The HTTP status.

    Returns:
        The response.
    """
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status_code, headers=headers)


def result_page(ok: bool, message: str, back_url: str | None = None) -> str:
    """The page a person lands on after connecting.

    Args:
        ok: Whether the connection was made.
        message: What happened (escaped).
        back_url: A link back to the application, when the connect session named one.

    Returns:
        The document.
    """
    return render("result.html", ok=ok, message=message, back_url=back_url)


def connect_page(
    integration: IntegrationInfo,
    schemes: list[str],
    action: str,
    csrf: str,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> str:
    """The connect page: the integration's name and description, one form per scheme offered.

    Args:
        integration: The integration to connect.
        schemes: The schemes offered (those that can complete).
        action: Where the forms post.
        csrf: The session's CSRF token.
        error: A message from a refused submit.
        values: Non-secret values to fill back in.

    Returns:
        The document.
    """
    return render(
        "connect.html",
        integration=integration,
        schemes=[s for s in integration.auth_schemes if s.scheme.value in schemes],
        action=action,
        csrf=csrf,
        error=error,
        values=values or {},
        labels=_LABELS,
    )
