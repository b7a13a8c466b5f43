"""Native incident-report JSON v1 to ``IncidentSignal``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from schemas.boundary.assemble import actuality_of, build_signal, merge_staff
from schemas.boundary.errors import field_names, validate_with
from schemas.boundary.pseudonym import PseudonymKey
from schemas.boundary.readers import Element, dict_reader
from schemas.codes import Seriousness, Severity, SourceFormat, code_lookup
from schemas.report import NativeIncidentReport
from schemas.signal import IncidentSignal

FORMAT: Final = SourceFormat.NATIVE

_read: Final = dict_reader(NativeIncidentReport)
_severity = code_lookup(Severity)
_seriousness = code_lookup(Seriousness)
_FIELDS: Final = field_names(NativeIncidentReport)


def minimize_native(document: Mapping[str, Any], key: PseudonymKey) -> IncidentSignal:
    report: Element = validate_with(_read, document, _FIELDS, FORMAT)
    return build_signal(
        key=key,
        source_format=FORMAT,
        source_system=report["source_system"],
        local_id=report["report_id"],
        reported_at=report["reported_at"],
        occurred_at=report["occurred_at"],
        unit_code=report["unit_code"],
        category_codes=report["category_codes"],
        severity=_severity(report["severity"]),
        seriousness=_seriousness(report["seriousness"]),
        actuality=actuality_of(report["actuality"]),
        staff=merge_staff((person["staff_ref"], person["role"]) for person in report["staff"]),
    )
