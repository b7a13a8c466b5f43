"""FHIR R5 AdverseEvent to ``IncidentSignal``.

``recorder`` is the reporter. Each ``participant`` is classified by its ``function``
(v3 ParticipationType): PART involved, WIT witness, AUT and INF reporters; any other or no
function counts as involved, since the resource names them as having taken part.
``subject``, ``code``, ``resultingEffect``, ``suspectEntity``, ``note``, ``text`` and every
``display`` are never read.
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
    Period,
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

FORMAT: Final = SourceFormat.FHIR_R5

FUNCTION_ROLES: Final = {
    "PART": StaffRole.INVOLVED,
    "WIT": StaffRole.WITNESS,
    "AUT": StaffRole.REPORTER,
    "INF": StaffRole.REPORTER,
}


class Participant(Incoming):
    function: CodeableConcept | None = None
    actor: Reference


class AdverseEventR5(Incoming):
    resourceType: Literal["AdverseEvent"]
    id: str | None = None
    identifier: Annotated[tuple[FhirIdentifier, ...], Field(max_length=32)] = ()
    actuality: str | None = None
    category: Annotated[tuple[CodeableConcept, ...], Field(max_length=32)] = ()
    occurrenceDateTime: str | None = None
    occurrencePeriod: Period | None = None
    detected: str | None = None
    recordedDate: str | None = None
    location: Reference | None = None
    seriousness: CodeableConcept | None = None
    outcome: Annotated[tuple[CodeableConcept, ...], Field(max_length=32)] = ()
    recorder: Reference | None = None
    participant: Annotated[tuple[Participant, ...], Field(max_length=256)] = ()


_FIELDS: Final = field_names(AdverseEventR5)
_read: Final = dict_reader(AdverseEventR5)


def _role_of(participant: Element) -> StaffRole:
    function = participant["function"]
    if function is not None:
        for coding in function["coding"]:
            role = FUNCTION_ROLES.get(coding["code"])
            if role is not None:  # every key is a valid code: no check needed
                return role
    return StaffRole.INVOLVED


def minimize_fhir_r5(
    document: Mapping[str, Any],
    key: PseudonymKey,
    vocabulary: Vocabulary,
    *,
    source_system: str,
    received_at: datetime | None,
) -> Projection:
    event: Element = validate_with(_read, document, _FIELDS, FORMAT)
    period = event["occurrencePeriod"]
    occurrence = event["occurrenceDateTime"] or (period["start"] if period else None)
    occurred_at = instant_of(occurrence)
    detected_at = instant_of(event["detected"])
    staff = [(staff_ref_of(event["recorder"]), StaffRole.REPORTER)]
    staff += [(staff_ref_of(p["actor"]), _role_of(p)) for p in event["participant"]]
    copier = Copier(vocabulary)
    seriousness = seriousness_of(event["seriousness"])
    actuality = actuality_of(event["actuality"])
    copier.enum(CopiedField.SERIOUSNESS, event["seriousness"], seriousness)
    copier.enum(CopiedField.ACTUALITY, event["actuality"], actuality)
    return build_signal(
        key=key,
        copier=copier,
        source_format=FORMAT,
        source_system=source_system,
        local_id=incident_local_id(event["identifier"], event["id"], FORMAT),
        reported_at=reported_at(
            instant_of(event["recordedDate"]) or occurred_at or detected_at, received_at, FORMAT
        ),
        occurred_at=occurred_at or detected_at,
        unit_code=local_id_of(event["location"], "Location"),
        category_codes=all_codes(event["category"]),
        severity=severity_of(None, event["outcome"]),
        seriousness=seriousness,
        actuality=actuality,
        staff=merge_staff(staff),
    )
