"""What an input may become on the wire: a path segment that stays one, a header value on one line.

An action's inputs often come from an agent that read untrusted text, so a value must never
change which endpoint is called (`..` climbing out of `/repos/${inputs.owner}`) or add a header (a
line break, then `X-Injected: 1`). These checks refuse such values with an `InvalidInput` naming the
input, before anything is sent; `explain_unbuildable` words the errors httpx raises while building
a request (a lone surrogate, an over-long URL, an invalid stored base URL) the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from plughub.exceptions import InvalidInput

__all__ = [
    "DOT_SEGMENTS",
    "NOT_ABSOLUTE",
    "explain_unbuildable",
    "header_safe",
    "header_value_refusal",
    "holds_invalid_text",
    "path_value_refusal",
    "same_origin",
    "url_problem",
]

# Segments that, left as they are, name no resource of their own: `//` may be collapsed, and URL
# normalisation (httpx's, or any proxy's) resolves `.` and `..` against the segments before them.
DOT_SEGMENTS = frozenset({"", ".", ".."})

NOT_ABSOLUTE = "not an absolute http:// or https:// URL"

# A header value is printable ASCII and tabs: no CR, LF or NUL (header injection), no other
# control characters, and nothing httpx's ASCII encoding of header values would refuse.
_HEADER_UNSAFE = re.compile(r"[^\t\x20-\x7e]")


def path_value_refusal(code: str, name: str, value: str) -> InvalidInput:
    """The error for a path input that would not stay a segment of its own (a value in `DOT_SEGMENTS`).

    Values are percent-encoded (a `/` becomes `%2F`), so only the values that encoding leaves as a
    dot segment or an empty segment need refusing.

    Args:
        code: The action code, for the message.
        name: The input's name.
        value: The value given (or its default).

    Returns:
        The error to raise.
    """
    return InvalidInput(
        f"{code}: input '{name}' cannot be {value!r}: it goes in the URL path, where an empty, '.' or '..' value "
        "would change which endpoint is called. Give the name or id it stands for.",
        details={"input": name},
    )


def header_value_refusal(code: str, name: str, header: str) -> InvalidInput:
    """The error for a header input that `header_safe` refuses.

    Args:
        code: The action code, for the message.
        name: The input's name.
        header: The header it goes in.

    Returns:
        The error to raise (the value itself is not shown).
    """
    return InvalidInput(
        f"{code}: input '{name}' goes in the HTTP header {header}, which takes printable ASCII text on one line: "
        "no CR, LF, NUL or other control characters, and no characters beyond ASCII.",
        details={"input": name},
    )


def header_safe(text: str) -> bool:
    """Tell whether a text can be a header value: printable ASCII and tabs, on one line.

    Args:
        text: The value.

    Returns:
        False when it holds CR, LF, NUL, another control character or non-ASCII text.
    """
    return _HEADER_UNSAFE.search(text) is None


def url_problem(url: str) -> str | None:
    """Why a base URL cannot be used, or None when it can.

    Args:
        url: The URL (rendered from a template and a connection's settings, or given).

    Returns:
        The reason (an invalid host such as `256.1.1.1` or `xn--`, a missing scheme), or None.
    """
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # decoded here: an invalid IDNA name (`xn--`) fails only now
    except (httpx.InvalidURL, UnicodeError) as exc:  # an IDNA error is a UnicodeError
        return str(exc) or type(exc).__name__
    if parsed.scheme not in ("http", "https") or not host:
        return NOT_ABSOLUTE
    return None


def holds_invalid_text(value: Any) -> bool:
    """Tell whether a value holds text that is not valid Unicode (a lone surrogate), keys included.

    Args:
        value: A JSON-like value.

    Returns:
        True when some string in it cannot be encoded as UTF-8.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, Mapping):
        return any(holds_invalid_text(k) or holds_invalid_text(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(holds_invalid_text(v) for v in value)
    return False


def explain_unbuildable(
    code: str, exc: Exception, base: str, inputs: Mapping[str, Any], in_url: Iterable[str]
) -> InvalidInput:
    """The `InvalidInput` for a request httpx would not build.

    Args:
        code: The action code, for the message.
        exc: What httpx raised (`InvalidURL`, or a `UnicodeError`).
        base: The base URL the request was built on.
        inputs: The inputs given.
        in_url: The names of the inputs that go in the URL (path and query).

    Returns:
        The error to raise, naming the connection's base URL or the input at fault.
    """
    problem = url_problem(base)
    if problem is not None:
        return InvalidInput(
            f"{code}: the connection's base URL {base!r} is not valid ({problem}). Connect again with a valid "
            "base_url or connection settings.",
            details={"base_url": base},
        )
    bad_text = next((name for name, value in inputs.items() if holds_invalid_text(value)), None)
    if bad_text is not None:
        return InvalidInput(
            f"{code}: input '{bad_text}' is not valid Unicode text (it holds a lone surrogate such as \\ud800); "
            "send UTF-8 text.",
            details={"input": bad_text},
        )
    if isinstance(exc, httpx.InvalidURL):
        sizes = {name: len(str(inputs[name])) for name in in_url if inputs.get(name) is not None}
        if sizes:
            longest = max(sizes, key=sizes.__getitem__)
            return InvalidInput(
                f"{code}: input '{longest}' makes the request URL invalid ({exc}): it has {sizes[longest]:,} "
                "characters. Shorten it.",
                details={"input": longest},
            )
    return InvalidInput(f"{code}: the inputs do not make a valid request ({exc})")


def same_origin(url: httpx.URL, origin: httpx.URL) -> bool:
    """Whether two URLs share scheme, host and port (a scheme's default port counts as written).

    Args:
        url: A URL.
        origin: The reference URL.

    Returns:
        Whether they are on one origin.
    """
    return (url.scheme, url.host, _port(url)) == (origin.scheme, origin.host, _port(origin))


def _port(url: httpx.URL) -> int | None:
    return url.port or {"http": 80, "https": 443}.get(url.scheme)
