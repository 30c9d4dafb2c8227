"""Jinja2 templates of the server's pages (the hosted connect page and the console), and their headers.

Autoescape is on for every template: names and descriptions come from tenants. The pages load one
style sheet of our own (`/assets/plughub.css`) and nothing else: no scripts, no images, no CDN.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse, Response

__all__ = ["CONTENT_SECURITY_POLICY", "STYLESHEET", "STYLESHEET_PATH", "render", "render_page", "stylesheet"]

_HERE = Path(__file__).parent
STYLESHEET = _HERE / "static" / "plughub.css"
"""The one style sheet every page uses."""
STYLESHEET_PATH = "/assets/plughub.css"
"""Where the server serves it."""
# Our own style sheet only: no scripts, no images, no frames, never framed. Forms are left free to
# post here and be redirected onwards, since an OAuth form continues at the provider's consent page.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'"


def _when(value: datetime | None) -> str:
    """A time as people read it, in UTC."""
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


_templates = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,  # a misspelt variable is an error, not an empty string
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["when"] = _when
_templates.globals["stylesheet"] = STYLESHEET_PATH


def render(name: str, **context: Any) -> str:
    """Render a template.

    Args:
        name: The template's path under `templates/`.
        **context: Its variables (escaped when shown).

    Returns:
        The document.
    """
    return _templates.get_template(name).render(**context)


def render_page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Answer with a rendered page, under the pages' Content-Security-Policy and never cached.

    Args:
        name: The template's path under `templates/`.
        status_code: The HTTP status.
        **context: The template's variables.

    Returns:
        The response.
    """
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"}
    return HTMLResponse(render(name, **context), status_code=status_code, headers=headers)


def stylesheet() -> Response:
    """The style sheet, cacheable for an hour.

    Returns:
        The response.
    """
    return Response(
        STYLESHEET.read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )
