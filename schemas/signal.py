"""``IncidentSignal``: all that is left of an incident report after the privacy boundary."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.base import Contract
from schemas.codes import (
    Actuality,
    Code,
    Identifier,
    Pseudonym,
    Seriousness,
    Severity,
    SourceFormat,
    StaffRole,
)

MAX_STAFF = 64
MAX_CATEGORIES = 16


class InvolvedStaff(Contract):
    """A staff member named in the report, and how they took part."""

    staff_ref: Identifier
    role: StaffRole


class IncidentSignal(Contract):
    """The minimized event on ``incident-signals``, keyed by ``incident``.

    Holds codes, timestamps and staff references only. No patient reference, no text, and
    the report's own id only as a keyed pseudonym.
    """

    type: Literal["incident-signal"] = "incident-signal"
    version: Literal[1] = 1
    incident: Pseudonym
    source_system: Code
    source_format: SourceFormat
    reported_at: AwareDatetime
    occurred_at: AwareDatetime | None = None
    unit_code: Code | None = None
    category_codes: Annotated[tuple[Code, ...], Field(max_length=MAX_CATEGORIES)] = ()
    severity: Severity | None = None
    seriousness: Seriousness | None = None
    actuality: Actuality | None = None
    staff: Annotated[tuple[InvolvedStaff, ...], Field(max_length=MAX_STAFF)] = ()
