"""`ModelResponse`: what every call returns, with dict-style access as in aiXplain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from plughub.enums import ResponseStatus

__all__ = ["ModelResponse"]

_ALIASES = {
    "usedCredits": "used_credits",
    "runTime": "run_time",
    "errorMessage": "error_message",
    "errorCode": "error_code",
}


class ModelResponse:
    """The result of a call.

    Args:
        status: SUCCESS, FAILED or IN_PROGRESS.
        data: The payload (a connection id and redirect URL for connect; the service's answer for
            an action).
        details: Extra context (the upstream status, an excerpt of its error body, ...).
        completed: Whether the call has finished.
        error_message: What went wrong, for FAILED responses.
        used_credits: Always 0 in plughub (kept for aiXplain parity).
        run_time: Seconds the call took.
        usage: Provider usage data, when any.
        url: A polling URL for IN_PROGRESS responses.
        error_code: A machine code for FAILED responses (`upstream_status`, ...).
        **kwargs: Anything else, kept as extra fields.
    """

    def __init__(
        self,
        status: ResponseStatus,
        data: Any = "",
        details: dict[str, Any] | list[Any] | None = None,
        completed: bool = False,
        error_message: str = "",
        used_credits: float = 0,
        run_time: float = 0,
        usage: dict[str, Any] | None = None,
        url: str | None = None,
        error_code: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.status = status
        self.data = data
        self.details = {} if details is None else details
        self.completed = completed
        self.error_message = error_message
        self.used_credits = used_credits
        self.run_time = run_time
        self.usage = usage
        self.url = url
        self.error_code = error_code
        self.additional_fields = kwargs

    def _name(self, key: str) -> str:
        return _ALIASES.get(key, key)

    def __getitem__(self, key: str) -> Any:
        name = self._name(key)
        if name in self.additional_fields:
            return self.additional_fields[name]
        if name in self.__dict__ and name != "additional_fields":
            return self.__dict__[name]
        raise KeyError(f"ModelResponse has no key '{key}'")

    def __setitem__(self, key: str, value: Any) -> None:
        name = self._name(key)
        if name in self.__dict__ and name != "additional_fields":
            setattr(self, name, value)
        else:
            self.additional_fields[name] = value

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        name = self._name(key)
        return name in self.additional_fields or (name in self.__dict__ and name != "additional_fields")

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def get(self, key: str, default: Any = None) -> Any:
        """Return a field, or `default` when there is none.

        Args:
            key: A field name (aiXplain's camelCase aliases work too).
            default: What to return otherwise.

        Returns:
            The value.
        """
        try:
            return self[key]
        except KeyError:
            return default

    def to_dict(self) -> dict[str, Any]:
        """Return every field as a dict (the status as its string value).

        Returns:
            The fields.
        """
        result = {k: v for k, v in self.__dict__.items() if k != "additional_fields"}
        result["status"] = self.status.value if isinstance(self.status, ResponseStatus) else self.status
        result.update(self.additional_fields)
        return result

    def __repr__(self) -> str:
        fields = [f"status={self.status.value if isinstance(self.status, ResponseStatus) else self.status}"]
        if self.data not in ("", None):
            fields.append(f"data={self.data!r}")
        if self.error_message:
            fields.append(f"error_message={self.error_message!r}")
        if self.error_code:
            fields.append(f"error_code={self.error_code!r}")
        return f"ModelResponse({', '.join(fields)})"
