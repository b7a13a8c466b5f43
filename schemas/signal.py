"""``IncidentSignal``: all that is left of an incident report after the privacy boundary."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.base import Contract
from schemas.codes import (
    Actuality,
    Code,
    Pseudonym,
    Seriousness,
    Severity,
    SourceFormat,
    StaffPseudonym,
    StaffRole,
)

MAX_STAFF = 64
MAX_CATEGORIES = 16


class InvolvedStaff(Contract):
    """A staff member named in the report (as a keyed pseudonym), and how they took part."""

    person: StaffPseudonym
    role: StaffRole


class IncidentSignal(Contract):
    """The minimized event on ``incident-signals``, keyed by ``incident``.

    Holds known codes, timestamps and keyed pseudonyms only: no patient reference, no
    text, and neither the report's id nor any staff reference in clear. ``source_system`` is
    absent when the installation does not name the reporting system as one of its sources.
    """

    type: Literal["incident-signal"] = "incident-signal"
    version: Literal[1] = 1
    incident: Pseudonym
    source_system: Code | None = None
    source_format: SourceFormat
    reported_at: AwareDatetime
    occurred_at: AwareDatetime | None = None
    unit_code: Code | None = None
    category_codes: Annotated[tuple[Code, ...], Field(max_length=MAX_CATEGORIES)] = ()
    severity: Severity | None = None
    seriousness: Seriousness | None = None
    actuality: Actuality | None = None
    staff: Annotated[tuple[InvolvedStaff, ...], Field(max_length=MAX_STAFF)] = ()
