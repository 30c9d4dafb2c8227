"""Shortening prose for people and models: cut at a sentence boundary, else a word boundary; a leaf module."""

from __future__ import annotations

import re

__all__ = ["shorten"]

# A sentence ends at ".", "!" or "?" (closing quotes or brackets may follow) before whitespace and a capital,
# a digit or markup, or at a blank line; "e.g. foo" or "v1.2" are not sentence ends.
_SENTENCE_END = re.compile(r"""[.!?]["')\]]*(?=\s+[A-Z0-9"'(\[`*#-])|\n[ \t]*\n""")
# Keep a sentence cut only when it keeps at least this share of the room; else cut between words.
_MIN_SHARE = 0.5


def shorten(text: str, limit: int, *, marker: str = "...") -> str:
    """Shorten text to at most `limit` characters, never cutting a word in two.

    Text that fits is returned stripped. Longer text ends at the last sentence boundary that fits, when that keeps
    at least half of the room; otherwise at the last whole word that fits, followed by `marker`. Only a single
    word longer than the room is cut inside (there is no other way).

    Args:
        text: The text.
        limit: The most characters to return, `marker` included.
        marker: What ends text cut between words.

    Returns:
        The text, shortened.

    Raises:
        ValueError: `limit` leaves no room for a word after `marker`.
    """
    if limit <= len(marker):
        raise ValueError(f"limit must be more than {len(marker)} characters (the marker's length), got {limit}")
    text = text.strip()
    if len(text) <= limit:
        return text
    # Look a little past the limit: whether a "." ends a sentence depends on what follows it.
    ends = [m.end() for m in _SENTENCE_END.finditer(text[: limit + 80]) if m.end() <= limit]
    if ends and ends[-1] >= limit * _MIN_SHARE:
        return text[: ends[-1]].rstrip()
    room = limit - len(marker)
    head = text[:room]
    if not text[room].isspace() and re.search(r"\s", head):
        head = re.split(r"\s+(?=\S*$)", head)[0]  # drop the word the cut fell inside
    return head.rstrip(" \t\n,;:.-") + marker
