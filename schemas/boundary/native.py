"""Native incident-report JSON v1 to ``IncidentSignal``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, NotRequired

from pydantic import AwareDatetime, Field, StringConstraints, TypeAdapter
from typing_extensions import TypedDict

from schemas.boundary.assemble import actuality_of, build_signal, merge_staff
from schemas.boundary.errors import field_names, validate_with
from schemas.boundary.pseudonym import PseudonymKey
from schemas.codes import (
    Code,
    Identifier,
    Seriousness,
    Severity,
    SourceFormat,
    StaffRole,
    code_lookup,
)
from schemas.report import NativeIncidentReport
from schemas.signal import IncidentSignal

FORMAT: Final = SourceFormat.NATIVE


class _Staff(TypedDict):
    staff_ref: Identifier
    role: StaffRole


class _Report(TypedDict):
    """:class:`~schemas.report.NativeIncidentReport` (the documented contract) read as
    plain dicts: half the cost of building models, same checks, same error paths.
    ``tests/unit/test_boundary_reader.py`` proves the two accept and refuse alike."""

    format: Literal["peer-support-bridge/incident-report"]
    version: Literal[1]
    report_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    source_system: Code
    reported_at: AwareDatetime
    occurred_at: NotRequired[AwareDatetime | None]
    unit_code: NotRequired[str | None]
    category_codes: NotRequired[Annotated[list[str], Field(max_length=64)]]
    severity: NotRequired[str | None]
    seriousness: NotRequired[str | None]
    actuality: NotRequired[str | None]
    staff: NotRequired[Annotated[list[_Staff], Field(max_length=256)]]


_read: Final = TypeAdapter(_Report).validator.validate_python
_severity = code_lookup(Severity)
_seriousness = code_lookup(Seriousness)
_FIELDS: Final = field_names(NativeIncidentReport)


def minimize_native(document: Mapping[str, Any], key: PseudonymKey) -> IncidentSignal:
    report: _Report = validate_with(_read, document, _FIELDS, FORMAT)
    return build_signal(
        key=key,
        source_format=FORMAT,
        source_system=report["source_system"],
        local_id=report["report_id"],
        reported_at=report["reported_at"],
        occurred_at=report.get("occurred_at"),
        unit_code=report.get("unit_code"),
        category_codes=report.get("category_codes", ()),
        severity=_severity(report.get("severity")),
        seriousness=_seriousness(report.get("seriousness")),
        actuality=actuality_of(report.get("actuality")),
        staff=merge_staff(
            (person["staff_ref"], person["role"]) for person in report.get("staff", ())
        ),
    )
