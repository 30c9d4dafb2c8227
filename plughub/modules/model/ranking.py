"""Picking a few actions out of many for a model: a small, deterministic lexical ranking.

An OpenAPI import can have hundreds of actions, more than a model should see at once. `rank_actions` scores each
action against a query such as "create an issue": the query's words are split (`createIssue`, `CREATE_ISSUE`),
lower-cased and lightly stemmed ("issues" and "issue" match), common words are dropped, and each remaining word
counts for more when it is rare among the actions (so the shared `GITHUB_` prefix barely counts). A word found in
the code or the name counts three times as much as one found in the description; a common verb's synonym ("add"
for "create") counts half. Ties keep the actions' order.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from typing import Any, TypeVar

__all__ = ["rank_actions", "select_actions", "words"]

T = TypeVar("T")

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STOPWORDS = frozenset(
    (
        "a",
        "an",
        "the",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "into",
        "and",
        "or",
        "my",
        "me",
        "i",
        "we",
        "our",
        "your",
        "you",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "be",
        "is",
        "are",
        "was",
        "were",
        "please",
        "can",
        "could",
        "would",
        "should",
        "will",
        "do",
        "does",
        "how",
        "what",
        "which",
    )
)
# Verbs that APIs name differently; a synonym counts half as much as the word itself.
_SYNONYMS = (
    "create add new make insert open post",
    "delete remove destroy erase drop",
    "get fetch retrieve read show view lookup",
    "list search find query browse all",
    "update edit modify change patch set rename",
    "send post publish",
)
_NAME_WEIGHT, _DESCRIPTION_WEIGHT, _SYNONYM_SHARE, _COVERAGE_BONUS = 3.0, 1.0, 0.5, 0.5


def _stem(word: str) -> str:
    """Strip common English endings, so that "issues", "issue" and "creating", "create" meet."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def words(text: str) -> list[str]:
    """Split text into the stemmed, lower-case words the ranking compares, common words left out.

    Args:
        text: Any text: a query, an action code (`GITHUB_CREATE_ISSUE`), a name, a description.

    Returns:
        The words, in order, repeats kept.
    """
    return [_stem(w.lower()) for w in _WORD.findall(text or "") if w.lower() not in _STOPWORDS]


def _synonym_table() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for group in _SYNONYMS:
        stems = frozenset(words(group))
        for stem in stems:
            table[stem] = table.get(stem, frozenset()) | (stems - {stem})
    return table


_SYNONYMS_OF = _synonym_table()


def _fields(action: Any) -> tuple[set[str], set[str]]:
    name = set(words(str(getattr(action, "code", "") or ""))) | set(words(str(getattr(action, "name", "") or "")))
    return name, set(words(str(getattr(action, "description", "") or "")))


def rank_actions(query: str, actions: Sequence[T], limit: int = 5) -> list[T]:
    """Rank actions by how well their code, name and description match a query.

    Args:
        query: What the agent wants to do ("create an issue").
        actions: Objects with `code`, `name` and `description` (`ConnectAction`, `ActionInfo`).
        limit: The most actions to return.

    Returns:
        The best matches first, at most `limit`; actions that match no word of the query are left out.

    Raises:
        ValueError: An empty query, a query of common words only, or a `limit` under 1.
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query must be a non-empty string saying what the action should do, e.g. 'create an issue'")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    wanted = list(dict.fromkeys(words(query)))
    if not wanted:
        raise ValueError(f"query {query!r} has no words to match (only common words); say what the action does")
    wanted_set = set(wanted)
    fields = [_fields(action) for action in actions]
    frequency: dict[str, int] = {}
    for name, description in fields:
        for word in name | description:
            frequency[word] = frequency.get(word, 0) + 1

    def weight(word: str) -> float:  # rarer words tell actions apart
        return math.log(1 + len(fields) / (1 + frequency.get(word, 0)))

    # A verb with synonyms is one concept ("create", "add", "new"): it weighs as rare as the whole group is, so a
    # description that happens to say "added" does not outrank a name that says "create".
    group_weight = {
        word: math.log(1 + len(fields) / (1 + sum(1 for n, d in fields if (n | d) & (_SYNONYMS_OF[word] | {word}))))
        for word in wanted
        if word in _SYNONYMS_OF
    }
    scored: list[tuple[float, int]] = []
    for index, (name, description) in enumerate(fields):
        score = 0.0
        for word in wanted:
            synonyms = _SYNONYMS_OF.get(word, frozenset())
            rarity = group_weight.get(word) or weight(word)
            score += max(
                _NAME_WEIGHT * rarity if word in name else 0.0,
                _DESCRIPTION_WEIGHT * rarity if word in description else 0.0,
                _SYNONYM_SHARE * _NAME_WEIGHT * rarity if synonyms & name else 0.0,
                _SYNONYM_SHARE * _DESCRIPTION_WEIGHT * rarity if synonyms & description else 0.0,
            )
        if score > 0:
            # Among equal matches, prefer the action whose name the query covers best ("create issue" over
            # "create issue comment").
            covered = sum(1 for w in name if w in wanted_set or _SYNONYMS_OF.get(w, frozenset()) & wanted_set)
            scored.append((score + _COVERAGE_BONUS * covered / max(len(name), 1), index))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [actions[index] for _score, index in scored[:limit]]


def select_actions(actions: Sequence[T], *, max_tools: int | None = None, query: str | None = None) -> list[T]:
    """Choose the actions to hand a model: the best matches of a query, or the first ones, at most `max_tools`.

    Args:
        actions: The candidate actions, in order.
        max_tools: The most actions to keep; None keeps all (or, with a query, every match).
        query: What the agent wants to do; when given, actions are ranked by `rank_actions` and non-matches dropped.

    Returns:
        The chosen actions.

    Raises:
        ValueError: `max_tools` is not a positive integer, or the query is empty.

    Warns:
        UserWarning: Without a query, `max_tools` left actions out (name the ones you need, or pass a query).
    """
    if max_tools is not None and (isinstance(max_tools, bool) or not isinstance(max_tools, int) or max_tools < 1):
        raise ValueError(f"max_tools must be a positive integer (or None for all), got {max_tools!r}")
    if query is not None:
        return rank_actions(query, actions, limit=max_tools or max(len(actions), 1))
    chosen = list(actions)
    if max_tools is not None and len(chosen) > max_tools:
        warnings.warn(
            f"{len(chosen)} actions and max_tools={max_tools}: only the first {max_tools} become tools; pass "
            "query='what the agent should do' to pick the best matches, or set action_scope "
            "(find_actions helps choose)",
            UserWarning,
            stacklevel=3,
        )
        chosen = chosen[:max_tools]
    return chosen
