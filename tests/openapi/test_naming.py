"""Ids, action codes and input names."""

from __future__ import annotations

import pytest

from plughub.engine.openapi.naming import input_name, slug, unique, upper_snake


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Swagger Petstore", "swagger-petstore"),
        ("The Plaid API", "the-plaid-api"),
        ("Email Activity (beta)", "email-activity-beta"),
        ("1Password Connect", "1-password-connect"),
        ("!!!", "api"),
        ("A" * 80, "a" * 48),
    ],
)
def test_slug(title: str, expected: str) -> None:
    assert slug(title) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("listPets", "LIST_PETS"),
        ("getHTTPResponse", "GET_HTTP_RESPONSE"),
        ("chat.postMessage", "CHAT_POST_MESSAGE"),
        ("get /pets/{petId}", "GET_PETS_PET_ID"),
        ("Update--a__thing", "UPDATE_A_THING"),
    ],
)
def test_upper_snake(text: str, expected: str) -> None:
    assert upper_snake(text) == expected


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("limit", "limit"),
        ("camelCase", "camelCase"),
        ("page[size]", "page_size"),
        ("X-Request-Id", "x_request_id"),
        ("$filter", "filter"),
        ("2fa", "n2fa"),
        ("---", "param"),
    ],
)
def test_input_name(wire: str, expected: str) -> None:
    assert input_name(wire) == expected


def test_unique() -> None:
    assert unique("A", set()) == "A"
    assert unique("A", {"A", "A_2"}) == "A_3"
