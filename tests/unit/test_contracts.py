"""The contracts: outgoing models refuse extra fields; exported schema files stay in step."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from pydantic import ValidationError

from schemas import (
    Channel,
    ContactPoint,
    DeadLetter,
    IncidentSignal,
    Notification,
    Reason,
    StaffProfile,
    SupportOffer,
)
from schemas.boundary import minimize
from schemas.export import EXPORTED, path_for, render
from tests.unit.helpers import KEY, native_report

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_exported_schema_file_matches_model(name: str) -> None:
    path = path_for(name)
    assert path.exists(), f"{path} is missing: run `make schemas`"
    assert path.read_text(encoding="utf-8") == render(name), (
        f"{path.name} differs from its model: run `make schemas` and commit the result"
    )


def signal() -> IncidentSignal:
    return minimize(native_report(), KEY)


@pytest.mark.parametrize(
    "model",
    [IncidentSignal, SupportOffer, Notification, StaffProfile, DeadLetter],
)
def test_outgoing_models_forbid_extra_fields(model: type[object]) -> None:
    from pydantic import BaseModel

    assert issubclass(model, BaseModel)
    assert model.model_config.get("extra") == "forbid"


def test_signal_refuses_a_smuggled_field() -> None:
    data = signal().model_dump()
    data["description"] = "Ola Testpasient"
    with pytest.raises(ValidationError):
        IncidentSignal.model_validate(data)


def test_signals_validate_against_their_exported_schema() -> None:
    schema = json.loads(path_for("incident-signal").read_text())
    jsonschema.validate(json.loads(signal().model_dump_json()), schema)


def test_dead_letter_schema_has_no_room_for_a_payload() -> None:
    letter = DeadLetter(
        source_topic="incident-reports",
        partition=0,
        offset=7,
        reason=Reason.INVALID_JSON,
        recorded_at=NOW,
    )
    schema = json.loads(path_for("dead-letter").read_text())
    jsonschema.validate(json.loads(letter.model_dump_json()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**json.loads(letter.model_dump_json()), "payload": "x"}, schema)


@pytest.mark.parametrize(
    ("channel", "good", "bad"),
    [
        (Channel.EMAIL, "kari@sykehus.example", "kari at sykehus"),
        (Channel.SMS, "+4791234567", "0047-555"),
        (Channel.TEAMS, "kari@sykehus.example", "Kari Nordmann"),
        (Channel.SLACK, "U0123ABCD", "#general"),
    ],
)
def test_contact_addresses_are_checked_per_channel(channel: Channel, good: str, bad: str) -> None:
    ContactPoint(channel=channel, address=good)
    with pytest.raises(ValidationError) as caught:
        ContactPoint(channel=channel, address=bad)
    assert bad not in str(caught.value.errors(include_input=False))


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\nBcc: all@sykehus.example"])
def test_an_address_with_a_line_break_is_refused(channel: Channel, ending: str) -> None:
    good = {Channel.SMS: "+4791234567", Channel.SLACK: "U0123ABCD"}.get(
        channel, "kari@sykehus.example"
    )
    ContactPoint(channel=channel, address=good)
    with pytest.raises(ValidationError):
        ContactPoint(channel=channel, address=good + ending)
