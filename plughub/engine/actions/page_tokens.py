"""Page tokens: where a truncated paginated run stops, handed to the caller sealed.

A token names the next page's URL or cursor. Sealed with the vault's data key and bound to one
team's connection and action (the record id is the associated data), a caller can neither read a
secret a service put in a link nor forge a URL for plughub to call with the connection's
credentials. A rotation of the data keys retires the tokens sealed before it.
"""

from __future__ import annotations

import base64
import binascii

from plughub.engine.actions.pagination import NextPage
from plughub.engine.credentials import Credentials
from plughub.engine.store import ConnectionRecord
from plughub.exceptions import CredentialError, InvalidInput

__all__ = ["PageTokens"]


class PageTokens:
    """Seals next pages into tokens and opens them again.

    Args:
        credentials: Seals and opens (the vault's data keys).
    """

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def __repr__(self) -> str:
        return "PageTokens()"

    def seal(self, upcoming: NextPage, record: ConnectionRecord, code: str) -> str:
        """The next page as an opaque token.

        Args:
            upcoming: The next page.
            record: The connection.
            code: The action code.

        Returns:
            The token (base64url, no padding).
        """
        sealed = self._credentials.seal(_record_id(record, code), upcoming.to_dict())
        return base64.urlsafe_b64encode(sealed.blob).decode("ascii").rstrip("=")

    def open(self, token: str, record: ConnectionRecord, code: str) -> NextPage:
        """The next page a token names.

        Args:
            token: What `seal` gave.
            record: The connection it must have been given for.
            code: The action it must have been given for.

        Returns:
            The next page.

        Raises:
            InvalidInput: The token is not one plughub gave for this connection and action.
        """
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return NextPage.from_dict(self._credentials.open(_record_id(record, code), blob))
        except (binascii.Error, ValueError, CredentialError):
            raise InvalidInput(
                "page_token is not a page token plughub gave for this connection and action (or the vault keys "
                "were rotated since); run the action again from the first page",
                details={"field": "page_token"},
            ) from None


def _record_id(record: ConnectionRecord, code: str) -> str:
    """What a page token is sealed for (its associated data): one team's connection and action."""
    return f"page-token:{record.team_id}:{record.id}:{code}"
