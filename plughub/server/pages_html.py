"""Server-rendered HTML of the hosted connect page: no scripts, no build step, every value escaped."""

from __future__ import annotations

import base64
import hashlib
from html import escape

from starlette.responses import HTMLResponse

from plughub.schemas import AuthSchemeInfo, IntegrationInfo

__all__ = ["CONTENT_SECURITY_POLICY", "connect_page", "page", "page_response", "result_page"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#1f2328}"
    "fieldset{border:1px solid #d0d7de;border-radius:6px;margin:1em 0;padding:1em}"
    "label{display:block;margin:.6em 0 .2em}input{width:100%;padding:.4em;box-sizing:border-box}"
    "button{margin-top:1em;padding:.5em 1.2em}.error{color:#cf222e}.ok{color:#1a7f37}"
)
# The pages need nothing but their own inline style sheet (allowed by its hash): no scripts, no
# images, no frames, never framed. Forms are left free to post here and be redirected onwards,
# since an OAuth form continues at the provider's consent page.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()}'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_LABELS = {
    "API_KEY": "API key",
    "BEARER_TOKEN": "Access token",
    "BASIC": "Username and password",
    "NO_AUTH": "No credentials",
    "OAUTH2": "Sign in (OAuth 2.0)",
    "OAUTH1": "Sign in (OAuth 1.0a)",
}


def page(title: str, body: str) -> str:
    """Wrap a body in the page skeleton.

    Args:
        title: The page title (escaped here).
        body: Trusted HTML.

    Returns:
        The document.
    """
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


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


def result_page(ok: bool, message: str) -> str:
    """The page a person lands on after connecting.

    Args:
        ok: Whether the connection was made.
        message: What happened (escaped here).

    Returns:
        The document.
    """
    heading = "Connected" if ok else "The connection failed"
    css = "ok" if ok else "error"
    return page(heading, f"<h1 class='{css}' id='result'>{heading}</h1><p id='message'>{escape(message)}</p>")


def _scheme_form(action: str, csrf: str, scheme: AuthSchemeInfo, values: dict[str, str]) -> str:
    fields = []
    for field in scheme.inputs:
        kind = "password" if field.secret else "number" if field.datatype == "number" else "text"
        # Secrets are never written back into a page; other values are, after a refused submit.
        value = (
            ""
            if field.secret
            else escape(values.get(field.code, "" if field.default is None else str(field.default)), quote=True)
        )
        required = " required" if field.required else ""
        hint = f" <small>{escape(field.description)}</small>" if field.description else ""
        fields.append(
            f"<label for='{scheme.scheme.value}-{escape(field.code)}'>{escape(field.name)}{hint}</label>"
            f"<input id='{scheme.scheme.value}-{escape(field.code)}' name='{escape(field.code)}' type='{kind}'"
            f" value='{value}' autocomplete='off'{required}>"
        )
    oauth = scheme.scheme.value in ("OAUTH1", "OAUTH2") and not scheme.inputs
    button = "Continue to sign in" if oauth else "Connect"
    return (
        f"<form method='post' action='{escape(action, quote=True)}' id='form-{scheme.scheme.value}'>"
        f"<fieldset><legend>{_LABELS[scheme.scheme.value]}</legend>"
        f"<input type='hidden' name='csrf_token' value='{escape(csrf, quote=True)}'>"
        f"<input type='hidden' name='scheme' value='{scheme.scheme.value}'>"
        + "".join(fields)
        + f"<button type='submit' id='submit-{scheme.scheme.value}'>{button}</button></fieldset></form>"
    )


def connect_page(
    integration: IntegrationInfo,
    schemes: list[str],
    action: str,
    csrf: str,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> str:
    """The connect page: one form per allowed scheme.

    Args:
        integration: The integration to connect.
        schemes: The schemes the session allows.
        action: Where the forms post.
        csrf: The session's CSRF token.
        error: A message from a refused submit.
        values: Non-secret values to fill back in.

    Returns:
        The document.
    """
    forms = [_scheme_form(action, csrf, s, values or {}) for s in integration.auth_schemes if s.scheme.value in schemes]
    alert = f"<p class='error' id='error'>{escape(error)}</p>" if error else ""
    return page(
        f"Connect {integration.name}",
        f"<h1>Connect {escape(integration.name)}</h1><p>{escape(integration.description)}</p>{alert}" + "".join(forms),
    )
