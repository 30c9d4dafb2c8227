"""plughub.text.shorten: a sentence boundary when one is near the limit, else a word boundary; never inside a word."""

from __future__ import annotations

import pytest

from plughub.text import shorten


def test_text_that_fits_is_only_stripped() -> None:
    assert shorten("  Fits.  ", 10) == "Fits."


def test_long_text_ends_at_the_last_sentence_that_fits() -> None:
    text = "First sentence here. Second sentence is longer than that. Third one."
    assert shorten(text, 60) == "First sentence here. Second sentence is longer than that."
    assert shorten("Para one is here\n\npara two is here and long", 20) == "Para one is here"
    # "e.g." and "v1.2" do not end sentences.
    assert shorten("Use e.g. this one. More text follows here.", 30) == "Use e.g. this one."
    assert shorten("Version v1.2 is out. More text follows here for sure.", 30) == "Version v1.2 is out."


def test_without_a_sentence_end_near_the_limit_it_cuts_between_words() -> None:
    text = "First. Then a very long sentence that goes on and on without end, forever and ever."
    cut = shorten(text, 40)
    assert cut == "First. Then a very long sentence that..."
    assert text.startswith(cut.removesuffix("..."))
    words = shorten("word " * 300, 50)
    assert len(words) <= 50 and words.endswith("word...") and "wor." not in words
    assert shorten("x" * 100, 20) == "x" * 17 + "..."  # one word longer than the room: no other way
    assert shorten("alpha beta gamma", 11, marker="…") == "alpha beta…"


def test_a_limit_without_room_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must be more than 3"):
        shorten("some text", 3)
