"""A code or staff reference the contract would refuse is dropped at the boundary, never
turned into a pydantic error (which would quote it) when the signal is built."""

from __future__ import annotations

from schemas.boundary import minimize
from tests.unit.helpers import KEY, RECEIVED_AT, VOCABULARY, fixture, native_report, staff


def test_codes_ending_in_a_newline_are_dropped() -> None:
    report = native_report(unit_code="MED-3\n", category_codes=["wrong-dose\n", "wrong-time"])
    signal = minimize(report, KEY, VOCABULARY)
    assert signal.unit_code is None
    assert signal.category_codes == ("wrong-time",)


def test_logical_staff_reference_ending_in_a_newline_is_not_staff() -> None:
    document = fixture("r5-patient-recorder.json")
    before = minimize(document, KEY, received_at=RECEIVED_AT)
    assert {involved.person for involved in before.staff} == {staff("emp-77")}
    changed = fixture("r5-patient-recorder.json")
    for participant in changed["participant"]:
        identifier = participant["actor"].get("identifier")
        if identifier and identifier.get("value") == "emp-77":
            identifier["value"] = "emp-77\n"
    after = minimize(changed, KEY, received_at=RECEIVED_AT)
    assert after.staff == ()
