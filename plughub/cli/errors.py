"""How the CLI words plughub's errors: CLI commands and flags where the library names Python calls.

The library's messages are written for Python (`IntegrationFactory.list()`, "the data
dictionary"). The errors carry the facts in `details`; from those the CLI says the same thing
in its own words. An error without the facts it needs keeps the library's message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plughub.exceptions import (
    ConnectionNotFound,
    IntegrationNotFound,
    MissingInputs,
    OAuthAppMissing,
    PlughubError,
)

__all__ = ["SERVER_MODULES", "cli_message", "server_extra_missing", "with_remedy"]

# The top-level modules `pip install 'plughub[server]'` brings (pyproject's `server` extra).
SERVER_MODULES = frozenset({"fastapi", "uvicorn", "psycopg", "multipart", "python_multipart", "aiohttp"})


def cli_message(exc: PlughubError) -> str:
    """Say what went wrong and what to do, naming CLI commands and flags.

    Args:
        exc: The error.

    Returns:
        One line, without the `Error: ` prefix.
    """
    details = exc.details
    if isinstance(exc, IntegrationNotFound) and "id" in details:
        close = [str(c) for c in details.get("did_you_mean") or []]
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        return (
            f"No integration with id or name '{details['id']}'.{hint} "
            "List them with `plughub integrations list` (search with --query)."
        )
    if isinstance(exc, ConnectionNotFound) and "id" in details:
        return f"No connection with id '{details['id']}'. List them with `plughub connections list`."
    if isinstance(exc, MissingInputs) and "scheme" in details:
        missing = [str(m) for m in details.get("missing") or []]
        flags = " ".join(f"--input {m}=VALUE" for m in missing)
        noun = "input" if len(missing) == 1 else "inputs"
        return (
            f"{details.get('integration', 'the integration')} {details['scheme']} needs the {noun} "
            f"{', '.join(repr(m) for m in missing)}: give {'it' if len(missing) == 1 else 'them'} with {flags} "
            "(short: -i), or run the command in a terminal to be asked."
        )
    if isinstance(exc, OAuthAppMissing) and "integration" in details:
        integration = details["integration"]
        environment = " and ".join(str(n) for n in details.get("environment") or [])
        return (
            f"No OAuth app is set for {integration}. Register an app at the provider with the redirect URI "
            f"{details.get('redirect_uri')}, then run `plughub oauth-app set {integration} --client-id ID` "
            f"(the secret is asked for)" + (f", or set {environment}." if environment else ".")
        )
    return with_remedy(exc.message, details)


def with_remedy(message: str, details: Mapping[str, Any]) -> str:
    """Add the CLI command that fixes what a message reports, when its details name one.

    Args:
        message: The library's message.
        details: The error's (or a FAILED result's) details.

    Returns:
        The message, with the command to run when there is one.
    """
    if details.get("remedy") == "reconnect" and details.get("connection_id"):
        return f"{message} (`plughub connections reconnect {details['connection_id']}`)"
    return message


def server_extra_missing(exc: ImportError) -> bool:
    """Whether an import failed because the server extra is not installed.

    Args:
        exc: The error an import raised.

    Returns:
        True when the missing module is one the `server` extra installs.
    """
    return (exc.name or "").partition(".")[0] in SERVER_MODULES
