"""Which format a parsed document is in, from its shape alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from schemas.boundary.errors import BoundaryError
from schemas.codes import SourceFormat
from schemas.dead_letter import Reason
from schemas.report import NATIVE_FORMAT_ID

# Elements that exist in one FHIR release's AdverseEvent and not in the other's.
_R5_ONLY: Final = frozenset(
    {
        "status",
        "code",
        "participant",
        "occurrenceDateTime",
        "occurrencePeriod",
        "occurrenceTiming",
        "resultingEffect",
        "mitigatingAction",
        "supportingInfo",
        "preventiveAction",
        "expectedInResearchStudy",
        "contributingFactor",
        "note",
    }
)
_R4_ONLY: Final = frozenset(
    {
        "event",
        "contributor",
        "severity",
        "date",
        "resultingCondition",
        "subjectMedicalHistory",
        "referenceDocument",
        "study",
    }
)


def detect_format(document: Mapping[str, Any]) -> SourceFormat:
    if document.get("format") == NATIVE_FORMAT_ID:
        return SourceFormat.NATIVE
    if document.get("resourceType") != "AdverseEvent":
        raise BoundaryError(Reason.UNSUPPORTED_FORMAT)
    identifier = document.get("identifier")
    if isinstance(identifier, list):  # 0..* in R5, 0..1 in R4
        return SourceFormat.FHIR_R5
    if isinstance(identifier, dict):
        return SourceFormat.FHIR_R4
    keys = document.keys()
    r5_votes = len(_R5_ONLY.intersection(keys))
    r4_votes = len(_R4_ONLY.intersection(keys))
    return SourceFormat.FHIR_R5 if r5_votes > r4_votes else SourceFormat.FHIR_R4
