"""Our own FHIR fixtures minimize to the expected staff, roles and codes."""

from __future__ import annotations

from datetime import datetime

from schemas import Actuality, Seriousness, Severity, SourceFormat, StaffRole
from schemas.boundary import minimize
from tests.unit.helpers import KEY, RECEIVED_AT, VOCABULARY, fixture, staff

R = StaffRole.REPORTER
I = StaffRole.INVOLVED  # noqa: E741
W = StaffRole.WITNESS


def staff_of(name: str) -> dict[str, StaffRole]:
    signal = minimize(fixture(name), KEY, received_at=RECEIVED_AT)
    return {involved.person: involved.role for involved in signal.staff}


def pseudonyms(roles: dict[str, StaffRole]) -> dict[str, StaffRole]:
    """The staff references as they leave the boundary: keyed pseudonyms."""
    return {staff(ref): role for ref, role in roles.items()}


def test_r4_recorder_is_reporter_and_contributors_are_involved() -> None:
    assert staff_of("r4-contributors.json") == pseudonyms(
        {
            # the recorder is also a contributor: involved outranks reporter
            "Practitioner/nurse-1": I,
            "Practitioner/doctor-2": I,
            "PractitionerRole/role-3": I,  # absolute URL with _history
            "9144900": I,  # logical reference by HPR number
        }
    )


def test_r4_non_staff_actors_are_never_staff() -> None:
    # recorder Patient; RelatedPerson, Organization and Device contributors
    assert staff_of("r4-patient-recorder.json") == pseudonyms({"Practitioner/nurse-5": I})


def test_r5_participant_function_decides_the_role() -> None:
    assert staff_of("r5-participants.json") == pseudonyms(
        {
            "Practitioner/doctor-10": I,  # recorder, and PART: involved outranks reporter
            "Practitioner/nurse-11": I,  # PART
            "PractitionerRole/hcw-12": W,  # WIT
            "Practitioner/nurse-13": R,  # AUT
            "Practitioner/midwife-14": R,  # INF
            "Practitioner/doctor-15": I,  # another function: took part
            "Practitioner/psychologist-16": I,  # no function: took part
        }
    )


def test_r5_patient_recorder_and_logical_witness() -> None:
    assert staff_of("r5-patient-recorder.json") == pseudonyms({"emp-77": W})


def test_r4_codes_and_timestamps() -> None:
    signal = minimize(fixture("r4-contributors.json"), KEY, VOCABULARY, received_at=RECEIVED_AT)
    assert signal.source_format is SourceFormat.FHIR_R4
    assert signal.category_codes == ("medication-mishap",)  # "has a space" is dropped
    assert signal.severity is Severity.MODERATE
    assert signal.seriousness is Seriousness.SERIOUS  # "Serious" in any case
    assert signal.actuality is Actuality.ACTUAL
    assert signal.unit_code == "ward-7"
    assert signal.reported_at == datetime.fromisoformat("2026-03-29T04:00:00+02:00")
    assert signal.occurred_at == datetime.fromisoformat("2026-03-29T01:30:00+01:00")


def test_r4_fatal_outcome_outranks_severity_and_partial_dates_fall_back() -> None:
    signal = minimize(fixture("r4-patient-recorder.json"), KEY, received_at=RECEIVED_AT)
    assert signal.severity is Severity.DEATH
    assert signal.actuality is Actuality.POTENTIAL
    assert signal.occurred_at is None  # "2026-10-25" has no time: not a timestamp
    assert signal.reported_at == RECEIVED_AT


def test_r5_codes_and_occurrence_period() -> None:
    signal = minimize(fixture("r5-participants.json"), KEY, VOCABULARY, received_at=RECEIVED_AT)
    assert signal.source_format is SourceFormat.FHIR_R5
    assert signal.severity is Severity.DEATH  # SNOMED CT 419099009 outcome
    assert signal.seriousness is Seriousness.SERIOUS
    assert signal.unit_code == "icu-1"
    assert signal.occurred_at == datetime.fromisoformat("2026-10-25T02:30:00+02:00")
    assert signal.reported_at == datetime.fromisoformat("2026-10-25T09:00:00+01:00")


def test_format_is_detected_from_shape() -> None:
    assert (
        minimize(fixture("r5-patient-recorder.json"), KEY, received_at=RECEIVED_AT).source_format
        is SourceFormat.FHIR_R5
    )
    assert (
        minimize(fixture("r4-patient-recorder.json"), KEY, received_at=RECEIVED_AT).source_format
        is SourceFormat.FHIR_R4
    )


def test_same_incident_same_pseudonym_and_key_matters() -> None:
    from schemas.boundary import PseudonymKey

    first = minimize(fixture("r5-participants.json"), KEY, received_at=RECEIVED_AT)
    again = minimize(fixture("r5-participants.json"), KEY, received_at=RECEIVED_AT)
    other_key = minimize(
        fixture("r5-participants.json"), PseudonymKey(b"another-key" * 4), received_at=RECEIVED_AT
    )
    assert first.incident == again.incident
    assert first.incident != other_key.incident
    assert "R5-0001" not in first.model_dump_json()
