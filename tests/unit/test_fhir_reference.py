"""The narrow FHIR readers agree with a full parse by ``fhir.resources``.

For our fixtures and every official example, the staff and roles the boundary extracts are
recomputed here from the official R4B/R5 models, following the rules in docs/sources.md.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fhir.resources.adverseevent import AdverseEvent as AdverseEventR5
from fhir.resources.R4B.adverseevent import AdverseEvent as AdverseEventR4B

from schemas import Reason, SourceFormat
from schemas.boundary import BoundaryError, detect_format, minimize
from schemas.boundary.conformance import check_conformance
from tests.unit.helpers import FIXTURES, KEY, RECEIVED_AT, staff
from tests.unit.test_official_examples import EVENTS

STAFF = re.compile(
    r"(?:^|/)(Practitioner|PractitionerRole)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)
ROLE_BY_FUNCTION = {"PART": "involved", "WIT": "witness", "AUT": "reporter", "INF": "reporter"}
PRECEDENCE = ["involved", "reporter", "witness"]


def staff_ref(reference: Any) -> str | None:
    if reference is None:
        return None
    if reference.reference:
        match = STAFF.search(reference.reference)
        if not match or (reference.type and reference.type != match[1]):
            return None
        return f"{match[1]}/{match[2]}"
    if reference.type in {"Practitioner", "PractitionerRole"} and reference.identifier:
        return str(reference.identifier.value)
    return None


def expected_staff(document: dict[str, Any]) -> dict[str, str]:
    found: list[tuple[str | None, str]] = []
    if detect_format(document) is SourceFormat.FHIR_R4:
        event4 = AdverseEventR4B.model_validate(document)
        found.append((staff_ref(event4.recorder), "reporter"))
        found += [(staff_ref(c), "involved") for c in event4.contributor or []]
    else:
        event5 = AdverseEventR5.model_validate(document)
        found.append((staff_ref(event5.recorder), "reporter"))
        for participant in event5.participant or []:
            codes = [
                c.code for c in (participant.function.coding if participant.function else []) or []
            ]
            role = next((ROLE_BY_FUNCTION[c] for c in codes if c in ROLE_BY_FUNCTION), "involved")
            found.append((staff_ref(participant.actor), role))
    best: dict[str, str] = {}
    for ref, role in found:
        if ref and (ref not in best or PRECEDENCE.index(role) < PRECEDENCE.index(best[ref])):
            best[ref] = role
    return best


DOCUMENTS = [
    (path.name, json.loads(path.read_text())) for path in sorted((FIXTURES / "fhir").glob("*.json"))
] + EVENTS


@pytest.mark.parametrize(("name", "document"), DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_narrow_reader_matches_full_parse(name: str, document: dict[str, Any]) -> None:
    signal = minimize(document, KEY, received_at=RECEIVED_AT)
    expected = {staff(ref): role for ref, role in expected_staff(document).items()}
    assert {p.person: p.role.value for p in signal.staff} == expected
    check_conformance(document, signal.source_format)  # the inputs are conformant FHIR


def test_conformance_check_reports_path_not_value() -> None:
    document = json.loads((FIXTURES / "fhir" / "r5-participants.json").read_text())
    document["participant"][0]["actor"] = {"reference": "Practitioner/x", "Ola Testpasient": 1}
    with pytest.raises(BoundaryError) as caught:
        check_conformance(document, SourceFormat.FHIR_R5)
    assert caught.value.reason is Reason.INVALID
    assert caught.value.path == "participant.0.actor.<key>"
    assert "Testpasient" not in str(caught.value)
