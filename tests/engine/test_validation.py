"""Input validation: jsonschema-rs lets valid inputs through, jsonschema decides and explains the rest."""

from __future__ import annotations

import datetime
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from plughub.engine.actions.validation import InputValidator
from plughub.engine.catalog.models import ActionSpec
from plughub.exceptions import InvalidInput, MissingInputs


def _action(**inputs: dict[str, Any]) -> ActionSpec:
    return ActionSpec.model_validate({"display_name": "Test", "path": "/x", "inputs": inputs})


ACTION = _action(
    name={"type": "string", "required": True, "minLength": 2},
    count={"type": "integer", "minimum": 1},
    tags={"type": "array", "items": {"type": "string"}},
    digits={"type": "string", "pattern": "^\\d+$"},
    ratio={"type": "number"},
    day={"type": "string", "format": "date"},
)


def test_valid_inputs_pass_both_validators() -> None:
    validator = InputValidator()
    validator.validate("T", ACTION, {"name": "ab", "count": 3, "tags": ["x"], "day": "2026-11-28"})
    fast = validator._entry(ACTION).fast
    assert fast is not None and fast.is_valid({"name": "ab", "count": 3})


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"name": "a"}, "input 'name': 'a' is too short"),
        ({"name": "ab", "count": 0}, "input 'count': 0 is less than the minimum of 1"),
        ({"name": "ab", "count": True}, "input 'count': True is not of type 'integer'"),
        ({"name": "ab", "tags": ["x", 2]}, "input 'tags.1': 2 is not of type 'string'"),
        ({"name": "ab", "day": "2026-13-01"}, "input 'day': '2026-13-01' is not a 'date'"),
    ],
)
def test_refused_inputs_are_explained_by_jsonschema(inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        InputValidator().validate("T", ACTION, inputs)
    assert caught.value.message == f"T: {message}"
    assert caught.value.details == {"problems": [message]}


def test_values_json_has_no_type_for_are_explained_not_crashed() -> None:
    # jsonschema-rs cannot read a set or a date; jsonschema decides (and names the field).
    with pytest.raises(InvalidInput, match=r"input 'tags': \{'x'\} is not of type 'array'"):
        InputValidator().validate("T", ACTION, {"name": "ab", "tags": {"x"}})
    with pytest.raises(InvalidInput, match=r"input 'day': datetime.date\(2026, 11, 28\) is not of type 'string'"):
        InputValidator().validate("T", ACTION, {"name": "ab", "day": datetime.date(2026, 11, 28)})


def test_jsonschema_has_the_last_word_where_the_two_disagree() -> None:
    # jsonschema-rs reads `pattern` as ECMA-262 (\d is ASCII) and refuses NaN as a number; Python's
    # jsonschema accepts both, and a refusal by the fast validator is only a question to it.
    validator = InputValidator()
    fast = validator._entry(ACTION).fast
    for inputs in ({"name": "ab", "digits": "\u0663"}, {"name": "ab", "ratio": float("nan")}):
        assert not fast.is_valid(inputs)
        validator.validate("T", ACTION, inputs)


def test_missing_inputs_are_named_before_any_schema_check() -> None:
    with pytest.raises(MissingInputs, match="T needs input 'name'"):
        InputValidator().validate("T", ACTION, {"count": 0})


@pytest.fixture
def listener() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP port that records every connection made to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    server.close()
    for connection in accepted:
        connection.close()


def test_a_remote_ref_is_never_fetched(listener: tuple[int, list[socket.socket]]) -> None:
    port, accepted = listener
    action = _action(item={"$ref": f"http://127.0.0.1:{port}/item.json"})
    fast = InputValidator()._entry(action).fast
    assert fast is None  # jsonschema-rs refused to compile it rather than fetch it
    assert accepted == []
