"""A page of results, in the shape the factories return."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

__all__ = ["Page"]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing."""

    results: list[T]
    total: int
    page_number: int
    page_total: int
