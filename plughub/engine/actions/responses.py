"""Response rules: a 2xx answer the definition says is an error becomes a FAILED result."""

from __future__ import annotations

import json
from typing import Any

from plughub.engine.catalog.models import ResponseSpec
from plughub.engine.catalog.triggers import ConditionSpec
from plughub.engine.json_pointer import MISSING, resolve
from plughub.enums import ResponseStatus
from plughub.exceptions import UpstreamError
from plughub.schemas import ActionResult

__all__ = ["apply_response_rules", "holds"]

_MESSAGE_CHARS = 300


def holds(condition: ConditionSpec, document: Any) -> bool:
    """Whether a parsed JSON answer meets a condition.

    `equals` and `in` compare JSON values as JSON does (`true` is not `1`); `exists: true` holds
    when the pointer leads to a value that is not null (`/errors/0` for a non-empty list).

    Args:
        condition: The condition (no templates: response rules compare with fixed values).
        document: The answer.

    Returns:
        Whether it holds.
    """
    value = resolve(document, condition.pointer)
    if condition.exists is not None:
        return (value is not MISSING and value is not None) is condition.exists
    if value is MISSING:
        return False
    if condition.in_ is not None:
        return isinstance(condition.in_, list) and any(_same(value, item) for item in condition.in_)
    return _same(value, condition.equals)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    return bool(left == right)


def apply_response_rules(label: str, rules: ResponseSpec | None, result: ActionResult) -> ActionResult:
    """Turn a SUCCESS whose answer matches `error_when` into a FAILED `upstream_error` result.

    Args:
        label: Who was called, for the message ("Slack SLACK_POST_MESSAGE").
        rules: The action's response rules (None: none).
        result: The result of the call (its data already cleaned of secrets).

    Returns:
        The result, or the failure with the service's message (the value at `error_message`),
        its status and its answer.
    """
    if rules is None or rules.error_when is None or result.status is not ResponseStatus.SUCCESS:
        return result
    if not holds(rules.error_when, result.data):
        return result
    said = resolve(result.data, rules.error_message) if rules.error_message is not None else MISSING
    if said is MISSING or said is None or said == "":
        condition = rules.error_when
        test = (
            f"exists: {str(condition.exists).lower()}"
            if condition.exists is not None
            else f"in {json.dumps(condition.in_)}"
            if condition.in_ is not None
            else f"equals {json.dumps(condition.equals)}"
        )
        message = f"the answer matches the definition's error_when ({condition.pointer} {test})"
    else:
        text = said if isinstance(said, str) else json.dumps(said, ensure_ascii=False)
        message = " ".join(text.split())[:_MESSAGE_CHARS]
    error = UpstreamError(
        f"{label}: the service answered {result.status_code or 'successfully'} but reported an error: {message}",
        details={"status_code": result.status_code, "error": message},
    )
    return ActionResult.failure(error, status_code=result.status_code, data=result.data, run_time=result.run_time)
