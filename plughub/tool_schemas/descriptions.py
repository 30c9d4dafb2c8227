"""What a model reads about a tool: what the action does and what it returns, within an API's length limit."""

from __future__ import annotations

import re

from plughub.schemas import ActionInfo
from plughub.text import shorten

__all__ = ["returns_sentence", "tool_description"]

_RETURNS_HTTP = "Returns the service's JSON answer"
_FAILS_HTTP = "on failure, an error with the HTTP status and the service's message."
_RETURNS_MCP = "Returns the MCP tool's result"
_FAILS_MCP = "on failure, an error with the tool's message."
# A description with a sentence that starts "Returns ..." already says what comes back; it only needs the failure
# part. ("the API returns a 410 status" inside a sentence says nothing of the answer.)
_SAYS_RETURNS = re.compile(r"(?:^|[.!?:]\s+|\n\s*)(?:Returns|Responds with|Answers with)\b")


def returns_sentence(info: ActionInfo) -> str:
    """Say what an action returns and how it fails, in one sentence for a model.

    Args:
        info: The action.

    Returns:
        "Returns ...; on failure, ..." (only the failure part, capitalised, when the action's description already
        says what it returns).
    """
    mcp = info.method.upper() == "MCP"
    returns, fails = (_RETURNS_MCP, _FAILS_MCP) if mcp else (_RETURNS_HTTP, _FAILS_HTTP)
    if _SAYS_RETURNS.search(info.description or ""):
        return fails[0].upper() + fails[1:]
    return f"{returns}; {fails}"


def tool_description(info: ActionInfo, limit: int) -> str:
    """Describe an action as a tool: what it does, then what it returns.

    What it does is the action's description, or its name (with the HTTP method and path) when it has none; a
    description too long for the limit is cut at a sentence boundary, else between words, so that the sentence
    about the result always fits.

    Args:
        info: The action.
        limit: The most characters the API accepts.

    Returns:
        The description, at most `limit` characters long.
    """
    does = (info.description or "").strip()
    if not does:
        name = (info.name or info.code).strip()
        http = info.method.upper() != "MCP" and info.path
        does = f"{name} ({info.method.upper()} {info.path})." if http else f"{name}."
    tail = returns_sentence(info)
    if len(tail) + 2 + 20 > limit:  # no room for both: what the action does matters most
        return shorten(does, limit)
    return f"{shorten(does, limit - len(tail) - 2)}\n\n{tail}"
