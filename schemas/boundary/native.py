"""Native incident-report JSON v1 to ``IncidentSignal``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from schemas.boundary.assemble import (
    CopiedField,
    Copier,
    Projection,
    actuality_of,
    build_signal,
    merge_staff,
)
from schemas.boundary.errors import field_names, validate_with
from schemas.boundary.pseudonym import PseudonymKey
from schemas.boundary.readers import Element, dict_reader
from schemas.boundary.vocabulary import Vocabulary
from schemas.codes import Seriousness, Severity, SourceFormat, code_lookup
from schemas.report import NativeIncidentReport

FORMAT: Final = SourceFormat.NATIVE

_read: Final = dict_reader(NativeIncidentReport)
_severity = code_lookup(Severity)
_seriousness = code_lookup(Seriousness)
_FIELDS: Final = field_names(NativeIncidentReport)


def minimize_native(
    document: Mapping[str, Any], key: PseudonymKey, vocabulary: Vocabulary
) -> Projection:
    report: Element = validate_with(_read, document, _FIELDS, FORMAT)
    copier = Copier(vocabulary)
    severity = _severity(report["severity"])
    seriousness = _seriousness(report["seriousness"])
    actuality = actuality_of(report["actuality"])
    copier.enum(CopiedField.SEVERITY, report["severity"], severity)
    copier.enum(CopiedField.SERIOUSNESS, report["seriousness"], seriousness)
    copier.enum(CopiedField.ACTUALITY, report["actuality"], actuality)
    return build_signal(
        key=key,
        copier=copier,
        source_format=FORMAT,
        source_system=report["source_system"],
        local_id=report["report_id"],
        reported_at=report["reported_at"],
        occurred_at=report["occurred_at"],
        unit_code=report["unit_code"],
        category_codes=report["category_codes"],
        severity=severity,
        seriousness=seriousness,
        actuality=actuality,
        staff=merge_staff((person["staff_ref"], person["role"]) for person in report["staff"]),
    )
