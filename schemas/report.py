"""The native incident-report JSON, version 1: what a reporting system sends us.

This is an *incoming* model. Free-text and patient fields (title, description, patient,
actions taken, attachments...) may be present in a report; they are not declared here, so
they are never read or kept. See ``docs/native-report-v1.md`` for the documented format.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from schemas.base import Incoming
from schemas.codes import Code, Identifier, StaffRole

NATIVE_FORMAT_ID: Final = "peer-support-bridge/incident-report"


class NativeStaff(Incoming):
    staff_ref: Identifier
    role: StaffRole


class NativeIncidentReport(Incoming):
    """Fields the boundary reads. Optional codes that fail validation are dropped."""

    format: Literal["peer-support-bridge/incident-report"]
    version: Literal[1]
    report_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    source_system: Code
    reported_at: AwareDatetime
    occurred_at: AwareDatetime | None = None
    unit_code: str | None = None
    category_codes: Annotated[list[str], Field(max_length=64)] = []
    severity: str | None = None
    seriousness: str | None = None
    actuality: str | None = None
    staff: Annotated[list[NativeStaff], Field(max_length=256)] = []
