"""Plant a unique marker in every free-text and patient field of real-shaped reports (native,
FHIR R4, FHIR R5) and follow everything that comes out: the signal, the offers, the
notifications, dead letters of broken variants, and the log. No marker may appear.

Code fields get free text too (with spaces, as a name or a sentence has): they must be
dropped. The report's own id is a marker: only its keyed pseudonym may come out.
"""

from __future__ import annotations

import copy
import io
import json
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.logging import configure, get_logger
from schemas import Channel, ContactPoint, Profession, StaffProfile
from schemas.boundary import BoundaryError, Vocabulary, minimize, project
from streams.agents.dispatch import notification_for
from streams.dead_letters import from_boundary_error
from streams.policy.decide import decide
from tests.unit.helpers import (
    EVERYONE,
    KEY,
    RECEIVED_AT,
    VOCABULARY,
    fixture,
    lenient_policy,
    native_report,
)

SUFFIX = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=12, max_size=12)
PROSE = st.sampled_from(
    ["Pasienten", "fikk", "feil", "dose", "på rom", "pårørende", "ringte", "kl 13:40", "født"]
)


@dataclass
class Planted:
    draw: Callable[[Any], Any]
    markers: list[str] = field(default_factory=list)

    def token(self) -> str:
        marker = "MRK" + self.draw(SUFFIX)
        self.markers.append(marker)
        return marker

    def text(self) -> str:
        words = self.draw(st.lists(PROSE, min_size=1, max_size=4))
        position = self.draw(st.integers(0, len(words)))
        return " ".join([*words[:position], self.token(), *words[position:]])

    def extra_fields(self) -> dict[str, Any]:
        names = self.draw(
            st.lists(st.from_regex(r"[a-z][a-z_]{2,14}", fullmatch=True), max_size=4, unique=True)
        )
        return {f"x_{name}": {"text": self.text(), "id": self.token()} for name in names}


@st.composite
def native_reports(draw: Callable[[Any], Any]) -> tuple[dict[str, Any], list[str]]:
    p = Planted(draw)
    report = native_report(
        report_id=p.token(),
        title=p.text(),
        description=p.text(),
        actions_taken=p.text(),
        patient={"name": p.text(), "national_id": p.token(), "address": p.text()},
        attachments=[{"file_name": p.token(), "content": p.text()}],
        **p.extra_fields(),
    )
    if draw(st.booleans()):
        report["unit_code"] = p.text()
    if draw(st.booleans()):
        report["category_codes"] = [p.text(), "ok-code"]
    if draw(st.booleans()):
        report["severity"] = p.text()
    return report, p.markers


def _plant_common_fhir(p: Planted, event: dict[str, Any]) -> None:
    event["text"] = {"status": "generated", "div": f"<div>{p.text()}</div>"}
    event["subject"] = {"reference": f"Patient/{p.token()}", "display": p.text()}
    event["contained"] = [
        {"resourceType": "Patient", "id": p.token(), "name": [{"text": p.text()}]}
    ]
    event["extension"] = [{"url": "urn:x", "valueString": p.text()}]
    event["category"][0]["text"] = p.text()
    event["category"][0]["coding"][0]["display"] = p.text()
    event["location"] = {"reference": f"Location/{p.token()}-x y", "display": p.text()}
    event["recorder"]["display"] = p.text()
    event["note"] = [{"text": p.text()}]
    event["suspectEntity"] = [{"instance": {"reference": "Medication/m", "display": p.text()}}]
    event.update(p.extra_fields())


@st.composite
def fhir_r4_reports(draw: Callable[[Any], Any]) -> tuple[dict[str, Any], list[str]]:
    p = Planted(draw)
    event = copy.deepcopy(fixture("r4-contributors.json"))
    event["identifier"] = {"system": "urn:x", "value": p.token()}
    event["event"] = {"coding": [{"code": "304386008", "display": p.text()}], "text": p.text()}
    for contributor in event["contributor"]:
        contributor["display"] = p.text()
    _plant_common_fhir(p, event)
    return event, p.markers


@st.composite
def fhir_r5_reports(draw: Callable[[Any], Any]) -> tuple[dict[str, Any], list[str]]:
    p = Planted(draw)
    event = copy.deepcopy(fixture("r5-participants.json"))
    event["identifier"] = [{"system": "urn:x", "value": p.token()}]
    event["code"] = {"coding": [{"code": "370927008", "display": p.text()}], "text": p.text()}
    event["resultingEffect"] = [{"display": p.text()}]
    event["mitigatingAction"] = [{"itemCodeableConcept": {"text": p.text()}}]
    for participant in event["participant"]:
        participant["actor"]["display"] = p.text()
    _plant_common_fhir(p, event)
    return event, p.markers


def profile_for(number: int) -> StaffProfile:
    """Who the directory says the person is (our own made-up data, never a report's)."""
    return StaffProfile(
        staff_ref=f"emp-{number}",
        display_name="Kari Nordmann",
        profession=Profession.NURSE,
        unit_code="MED-3",
        channels=(ContactPoint(channel=Channel.EMAIL, address=f"staff{number}@sykehus.example"),),
    )


def broken_variants(document: dict[str, Any]) -> list[bytes]:
    raw = json.dumps(document).encode()
    wrong_type = {**document, "staff": document.get("title", "x"), "recorder": "x"}
    return [
        raw[: len(raw) // 2],
        raw[:-1] + b', "identifier": 1, "identifier": 2}',
        json.dumps(wrong_type).encode(),
        json.dumps({**document, "resourceType": "Patient", "format": "other"}).encode(),
    ]


def everything_that_comes_out(document: dict[str, Any], vocabulary: Vocabulary = VOCABULARY) -> str:
    log_stream = io.StringIO()
    configure("debug", log_stream)
    log = get_logger("privacy-test")
    outputs: list[str] = []

    try:
        projection = project(
            json.dumps(document).encode(), KEY, vocabulary, received_at=RECEIVED_AT
        )
    except BoundaryError as error:  # a planted value broke a required field
        outputs.append(str(error))
        log.warning("refused", reason=error.reason.value, path=error.path)
    else:
        signal = projection.signal
        outputs.append(signal.model_dump_json())
        outputs += [f"{drop.field.value}:{drop.reason.value}" for drop in projection.dropped]
        policy = lenient_policy()
        decision = decide(signal, policy, RECEIVED_AT, KEY, EVERYONE)
        for number, offer in enumerate(decision.offers):
            outputs.append(offer.model_dump_json())
            note = notification_for(
                KEY, offer, profile_for(number), frozenset(Channel), RECEIVED_AT, policy
            )
            outputs.append(note.model_dump_json() if not isinstance(note, str) else note)

    message = SimpleNamespace(topic="incident-reports", partition=0, offset=41)
    for broken in broken_variants(document):
        try:
            minimize(broken, KEY, vocabulary, received_at=RECEIVED_AT)
        except BoundaryError as error:
            letter = from_boundary_error(message, error)
            outputs.append(letter.model_dump_json())
            log.warning("record dead-lettered", reason=letter.reason.value, path=letter.field_path)
            log.error("report refused", exc_info=error)

    # a careless log call: the allow-list must drop what it does not know
    log.info("careless", report=document, text=json.dumps(document), patient=document)
    outputs.append(log_stream.getvalue())
    return "\n".join(outputs)


def assert_no_marker(document: dict[str, Any], markers: list[str]) -> None:
    output = everything_that_comes_out(document)
    leaked = [marker for marker in markers if marker in output]
    assert not leaked, f"leaked: {leaked}"


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(native_reports())
def test_native_reports_leak_nothing(case: tuple[dict[str, Any], list[str]]) -> None:
    assert_no_marker(*case)


@PROPERTY
@given(fhir_r4_reports())
def test_fhir_r4_reports_leak_nothing(case: tuple[dict[str, Any], list[str]]) -> None:
    assert_no_marker(*case)


@PROPERTY
@given(fhir_r5_reports())
def test_fhir_r5_reports_leak_nothing(case: tuple[dict[str, Any], list[str]]) -> None:
    assert_no_marker(*case)


def test_the_check_would_see_a_leak() -> None:
    """The harness itself: a marker that does get out is found."""
    document = native_report(unit_code="MRKVISIBLE0001")
    assert "MRKVISIBLE0001" not in everything_that_comes_out(document)
    declared = Vocabulary.of(directory_units={"MRKVISIBLE0001"})  # a unit someone is in
    assert "MRKVISIBLE0001" in everything_that_comes_out(document, declared)
