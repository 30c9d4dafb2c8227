"""Give consent on the sandbox's OAuth pages without a browser, the way a person would click."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

__all__ = ["give_consent"]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = found.get("action") or ""
        elif tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def give_consent(authorize_url: str, *, approve: bool = True, client: httpx.Client | None = None) -> str:
    """Open a consent page, press approve (or deny), and return where the provider redirects.

    Args:
        authorize_url: The `redirectURL` plughub returned.
        approve: Press approve; False presses deny.
        client: The HTTP client to use.

    Returns:
        The callback URL the browser would be sent to (with `code`/`state`, or an error).

    Raises:
        ValueError: The page has no consent form, or the provider did not redirect.
    """
    http = client or httpx.Client()
    try:
        page = http.get(authorize_url)
        parser = _FormParser()
        parser.feed(page.text)
        if parser.action is None:
            raise ValueError(f"no consent form at {authorize_url} (HTTP {page.status_code})")
        target = urljoin(str(page.url), parser.action)
        decision = {**parser.fields, "decision": "approve" if approve else "deny"}
        answer = http.post(target, data=decision, follow_redirects=False)
        if "location" not in answer.headers:
            raise ValueError(f"the provider did not redirect after the decision (HTTP {answer.status_code})")
        return answer.headers["location"]
    finally:
        if client is None:
            http.close()
