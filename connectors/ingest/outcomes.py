"""What the ingest server answers, as models: the handlers build their answers from these,
and the OpenAPI document describes them from the same models, so the two cannot drift.

Every field holds a count, a code, a keyed pseudonym or a field path; none can hold a value
taken from a report.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.codes import Pseudonym


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def body(self) -> dict[str, object]:
        """The JSON body as sent: optional members left out rather than null."""
        return self.model_dump(mode="json", exclude_none=True)


class ProblemDocument(Answer):
    """An RFC 9457 problem document; ``reason`` is the code a client acts on."""

    type: str = Field(description="urn:peer-support-bridge:problem:<reason>.")
    title: str = Field(description="The HTTP status's name.")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="Fixed text for the reason; never a value sent.")
    reason: str = Field(description="Reason code.")
    field: str | None = Field(None, description="Field path, never a value.")
    events: list[EventOutcome] | None = Field(
        None, description="A CloudEvents batch none of whose events was accepted: each one's."
    )


class DroppedValue(Answer):
    """A value the boundary did not copy (an unknown code, an identifier), by field and
    reason; never the value."""

    field: str
    reason: str


class EventAccepted(Answer):
    index: int = Field(ge=0, description="Position of the event in the batch, from 0.")
    status: Literal["accepted"]
    incident: Pseudonym = Field(description="Keyed pseudonym of the event's incident.")


class EventRefused(Answer):
    index: int = Field(ge=0, description="Position of the event in the batch, from 0.")
    status: Literal["refused"]
    problem: ProblemDocument = Field(description="Why this event alone was refused.")


EventOutcome = Annotated[EventAccepted | EventRefused, Field(discriminator="status")]


class Accepted(Answer):
    """Stored: the broker acknowledged every signal the request gave."""

    status: Literal["accepted"]
    accepted: int = Field(ge=1, description="Signals stored.")
    incidents: list[Pseudonym] = Field(description="Keyed pseudonym of each signal's incident.")
    dropped: list[DroppedValue]
    naming_no_one: int = Field(
        0,
        ge=0,
        description="Signals whose report names no staff member by a usable reference (a "
        "FHIR recorder given by name only, say): stored, but they offer support to no one.",
    )
    events: list[EventOutcome] | None = Field(
        None, description="CloudEvents batch only: each event's outcome, in the batch's order."
    )


class Acknowledged(Answer):
    """A subscription notification that carries no event (handshake, heartbeat,
    query-status, or an event whose AdverseEvent is gone): nothing written."""

    status: Literal["acknowledged"]
    type: str = Field(description="The notification's type.")
    accepted: Literal[0]


class Live(Answer):
    status: Literal["live"]


class Ready(Answer):
    status: Literal["ready", "waiting"]
    broker: bool = Field(description="The broker answers and the signal topic exists.")
    directory: bool = Field(description="The staff directory is loaded.")
    callers: bool = Field(description="Some caller could be accepted.")


ProblemDocument.model_rebuild()
