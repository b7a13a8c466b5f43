"""Native report v1 through the boundary."""

from __future__ import annotations

import pytest

from schemas import Reason, Severity, SourceFormat, StaffRole
from schemas.boundary import BoundaryError, CopiedField, Drop, InputFormat, minimize, project
from tests.unit.helpers import KEY, VOCABULARY, native_report, staff

DROP = object()


def test_native_report_keeps_codes_and_staff_only() -> None:
    report = native_report(
        title="Feil dose til Ola Testpasient",
        description="Pasienten Ola Testpasient fikk dobbel dose",
        patient={"name": "Ola Testpasient", "national_id": "01017012345"},
    )
    signal = minimize(report, KEY, VOCABULARY)
    assert signal.source_format is SourceFormat.NATIVE
    assert signal.source_system == "avvik-test"
    assert signal.unit_code == "MED-3"
    assert signal.category_codes == ("medication-mishap",)  # FHIR R5's category value set
    assert signal.severity is Severity.MODERATE
    assert [(p.person, p.role) for p in signal.staff] == [
        (staff("emp-1"), StaffRole.REPORTER),
        (staff("emp-2"), StaffRole.INVOLVED),
        (staff("emp-3"), StaffRole.WITNESS),
    ]
    text = signal.model_dump_json()
    for secret in ("Testpasient", "01017012345", "dobbel", "AV-1", "emp-1"):
        assert secret not in text


def test_invalid_optional_codes_are_dropped_not_copied() -> None:
    projection = project(
        native_report(
            unit_code="Sengepost for Ola Testpasient",
            category_codes=["wrong-dose", "Ola Testpasient", "x" * 65, "wrong-dose"],
            severity="catastrophic",
            seriousness="very",
            actuality="maybe",
        ),
        KEY,
        VOCABULARY,
    )
    signal = projection.signal
    assert signal.unit_code is None
    assert signal.category_codes == ("wrong-dose",)
    assert signal.severity is None
    assert signal.seriousness is None
    assert signal.actuality is None
    assert sorted(projection.dropped, key=str) == sorted(
        [
            Drop(CopiedField.UNIT_CODE, Reason.INVALID_IDENTIFIER),
            Drop(CopiedField.CATEGORY_CODES, Reason.INVALID_IDENTIFIER),
            Drop(CopiedField.CATEGORY_CODES, Reason.INVALID_IDENTIFIER),
            Drop(CopiedField.SEVERITY, Reason.UNKNOWN_CODE),
            Drop(CopiedField.SERIOUSNESS, Reason.UNKNOWN_CODE),
            Drop(CopiedField.ACTUALITY, Reason.UNKNOWN_CODE),
        ],
        key=str,
    )


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        ({"report_id": DROP}, "report_id", Reason.MISSING),
        ({"report_id": 12345}, "report_id", Reason.WRONG_TYPE),
        ({"reported_at": "2026-11-20T14:03:00"}, "reported_at", Reason.INVALID_DATETIME),
        ({"reported_at": "yesterday"}, "reported_at", Reason.INVALID_DATETIME),
        ({"version": 2}, "version", Reason.NOT_ALLOWED_VALUE),
        ({"source_system": "Avvik system"}, "source_system", Reason.INVALID_IDENTIFIER),
        (
            {"staff": [{"staff_ref": "Ola Nordmann", "role": "reporter"}]},
            "staff.0.staff_ref",
            Reason.INVALID_IDENTIFIER,
        ),
        (
            {"staff": [{"staff_ref": "emp-1", "role": "boss"}]},
            "staff.0.role",
            Reason.NOT_ALLOWED_VALUE,
        ),
        ({"staff": [{"role": "reporter"}]}, "staff.0.staff_ref", Reason.MISSING),
        ({"staff": "emp-1"}, "staff", Reason.WRONG_TYPE),
    ],
)
def test_errors_name_the_path_and_reason_never_the_value(
    change: dict[str, object], path: str, reason: Reason
) -> None:
    report = {key: value for key, value in native_report(**change).items() if value is not DROP}
    with pytest.raises(BoundaryError) as caught:
        minimize(report, KEY)
    assert (caught.value.path, caught.value.reason) == (path, reason)
    message = str(caught.value)
    for value in ("Ola Nordmann", "boss", "Avvik system", "yesterday"):
        assert value not in message
    assert caught.value.__context__ is None  # the pydantic error (which quotes input) is gone


def test_forced_format_must_match() -> None:
    with pytest.raises(BoundaryError) as caught:
        minimize(native_report(), KEY, input_format=InputFormat.FHIR_R4)
    assert caught.value.path == "resourceType"


def test_staff_limit() -> None:
    staff = [{"staff_ref": f"emp-{n}", "role": "involved"} for n in range(65)]
    with pytest.raises(BoundaryError) as caught:
        minimize(native_report(staff=staff), KEY)
    assert caught.value.reason is Reason.TOO_MANY
