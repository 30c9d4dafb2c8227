"""The base of the definition format's models: unknown keys refused, values frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """A part of a definition: a key the format does not know is an error, and nothing changes after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)
