"""Base classes for the event contracts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """An event we write: immutable, and no field beyond those declared.

    ``extra="forbid"`` is the point: a field cannot be smuggled into a topic by adding it
    to a dict somewhere upstream, because the model refuses to be built with it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Incoming(BaseModel):
    """A document we read from someone else: unknown fields are ignored and never kept."""

    model_config = ConfigDict(extra="ignore", frozen=True)
