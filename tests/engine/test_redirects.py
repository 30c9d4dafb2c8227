"""Unit tests of the connect page's redirect allow-list (plughub.engine.redirects).

The REST and browser tests (tests/server/test_redirect_urls.py, test_console_browser.py) use it end to end.
"""

from __future__ import annotations

import pytest

from plughub.engine.redirects import allowed_redirect, check_redirect_urls, with_outcome
from plughub.exceptions import InvalidInput

ALLOWED = ["https://app.example/connected", "http://127.0.0.1:8080/back"]


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example/connected",
        "https://APP.example/connected?user=42&state=abc",
        "https://app.example:443/connected",
        "http://127.0.0.1:8080/back",
    ],
)
def test_on_the_list(url: str) -> None:
    assert allowed_redirect(url, ALLOWED)


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example/connected/other",
        "https://app.example/",
        "https://app.example.evil.com/connected",
        "https://evil.com/connected",
        "http://app.example/connected",  # another scheme
        "https://app.example:8443/connected",  # another port
        "http://127.0.0.1/back",
        "https://user:pw@app.example/connected",
        "https://app.example/connected#fragment",
        "javascript:alert(1)//app.example/connected",
        "//app.example/connected",
        "https://app.example:99999/connected",
    ],
)
def test_off_the_list(url: str) -> None:
    assert not allowed_redirect(url, ALLOWED)


def test_nothing_is_allowed_by_an_empty_list() -> None:
    assert not allowed_redirect("https://app.example/connected", [])


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("app.example/connected", "absolute http"),
        ("ftp://app.example/", "absolute http"),
        ("https:///path", "absolute http"),
        ("https://u:p@app.example/", "user name"),
        ("https://app.example/?a=1", "no query"),
        ("https://app.example/#x", "no query"),
        ("https://app.example:port/", "invalid port"),
    ],
)
def test_bad_list_entries_are_named(url: str, words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_redirect_urls(["https://ok.example/", url])
    assert words in str(refused.value) and url in str(refused.value)


def test_the_list_is_stripped_and_deduplicated() -> None:
    assert check_redirect_urls([" https://a.example/x ", "https://a.example/x", "http://b.example/"]) == [
        "https://a.example/x",
        "http://b.example/",
    ]


def test_the_outcome_joins_the_query() -> None:
    assert (
        with_outcome("https://app.example/connected?user=42&status=stale", "c1", "active")
        == "https://app.example/connected?user=42&connection_id=c1&status=active"
    )
