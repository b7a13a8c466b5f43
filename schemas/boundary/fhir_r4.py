"""FHIR R4 (and R4B) AdverseEvent to ``IncidentSignal``.

``recorder`` is the reporter; each ``contributor`` is involved. ``subject``, ``event``,
``suspectEntity``, ``text``, notes and every ``display`` are never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import Field

from schemas.base import Incoming
from schemas.boundary.assemble import (
    CopiedField,
    Copier,
    Projection,
    actuality_of,
    build_signal,
    merge_staff,
)
from schemas.boundary.errors import field_names, validate_with
from schemas.boundary.fhir_elements import (
    CodeableConcept,
    FhirIdentifier,
    Reference,
    all_codes,
    instant_of,
    local_id_of,
    seriousness_of,
    severity_of,
    staff_ref_of,
)
from schemas.boundary.fhir_resource import incident_local_id, reported_at
from schemas.boundary.pseudonym import PseudonymKey
from schemas.boundary.readers import Element, dict_reader
from schemas.boundary.vocabulary import Vocabulary
from schemas.codes import SourceFormat, StaffRole

FORMAT: Final = SourceFormat.FHIR_R4


class AdverseEventR4(Incoming):
    resourceType: Literal["AdverseEvent"]
    id: str | None = None
    identifier: FhirIdentifier | None = None
    actuality: str | None = None
    category: Annotated[tuple[CodeableConcept, ...], Field(max_length=32)] = ()
    date: str | None = None
    detected: str | None = None
    recordedDate: str | None = None
    location: Reference | None = None
    seriousness: CodeableConcept | None = None
    severity: CodeableConcept | None = None
    outcome: CodeableConcept | None = None
    recorder: Reference | None = None
    contributor: Annotated[tuple[Reference, ...], Field(max_length=256)] = ()


_FIELDS: Final = field_names(AdverseEventR4)
_read: Final = dict_reader(AdverseEventR4)


def minimize_fhir_r4(
    document: Mapping[str, Any],
    key: PseudonymKey,
    vocabulary: Vocabulary,
    *,
    source_system: str,
    received_at: datetime | None,
) -> Projection:
    event: Element = validate_with(_read, document, _FIELDS, FORMAT)
    occurred_at = instant_of(event["date"])
    staff = [(staff_ref_of(event["recorder"]), StaffRole.REPORTER)]
    staff += [(staff_ref_of(person), StaffRole.INVOLVED) for person in event["contributor"]]
    copier = Copier(vocabulary)
    outcomes = (event["outcome"],) if event["outcome"] else ()
    severity = severity_of(event["severity"], outcomes)
    copier.enum(CopiedField.SEVERITY, event["severity"], severity)
    seriousness = seriousness_of(event["seriousness"])
    actuality = actuality_of(event["actuality"])
    copier.enum(CopiedField.SERIOUSNESS, event["seriousness"], seriousness)
    copier.enum(CopiedField.ACTUALITY, event["actuality"], actuality)
    return build_signal(
        key=key,
        copier=copier,
        source_format=FORMAT,
        source_system=source_system,
        local_id=incident_local_id(
            (event["identifier"],) if event["identifier"] is not None else (), event["id"], FORMAT
        ),
        reported_at=reported_at(
            instant_of(event["recordedDate"]) or occurred_at or instant_of(event["detected"]),
            received_at,
            FORMAT,
        ),
        occurred_at=occurred_at,
        unit_code=local_id_of(event["location"], "Location"),
        category_codes=all_codes(event["category"]),
        severity=severity,
        seriousness=seriousness,
        actuality=actuality,
        staff=merge_staff(staff),
    )
