"""Status of a `ModelResponse`."""

from __future__ import annotations

from enum import Enum

__all__ = ["ResponseStatus"]


class ResponseStatus(str, Enum):
    """Outcome of a call: finished well, failed, or still running."""

    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
