"""Who gets an offer, and on which channel the notification goes."""

from __future__ import annotations

from schemas import (
    Channel,
    ContactPoint,
    Language,
    NotificationKind,
    Profession,
    StaffProfile,
)
from schemas.boundary import minimize
from streams.agents.dispatch import Skip, notification_for
from streams.agents.offers import offers_for
from tests.unit.helpers import KEY, RECEIVED_AT, native_report

ALL = frozenset(Channel)


def profile(**changes: object) -> StaffProfile:
    data: dict[str, object] = {
        "staff_ref": "emp-1",
        "display_name": "Kari Nordmann",
        "profession": Profession.NURSE,
        "unit_code": "MED-3",
        "channels": (
            ContactPoint(channel=Channel.SLACK, address="U0123ABCD"),
            ContactPoint(channel=Channel.EMAIL, address="kari@sykehus.example"),
        ),
        "language": Language.NN,
    }
    data.update(changes)
    return StaffProfile.model_validate(data)


def offers() -> list[object]:
    return list(offers_for(minimize(native_report(), KEY), RECEIVED_AT))


def test_reporters_and_involved_get_offers_witnesses_do_not() -> None:
    made = list(offers_for(minimize(native_report(), KEY), RECEIVED_AT))
    assert [(offer.staff_ref, offer.role.value) for offer in made] == [
        ("emp-1", "reporter"),
        ("emp-2", "involved"),
    ]


def test_offer_ids_are_stable_per_incident_and_person() -> None:
    first = [offer.offer_id for offer in offers_for(minimize(native_report(), KEY), RECEIVED_AT)]
    again = [offer.offer_id for offer in offers_for(minimize(native_report(), KEY), RECEIVED_AT)]
    other = [
        offer.offer_id
        for offer in offers_for(minimize(native_report(report_id="AV-2"), KEY), RECEIVED_AT)
    ]
    assert first == again
    assert not set(first) & set(other)


def test_first_enabled_channel_in_the_persons_language() -> None:
    offer = next(offers_for(minimize(native_report(), KEY), RECEIVED_AT))
    note = notification_for(offer, profile(), ALL, RECEIVED_AT)
    assert not isinstance(note, Skip)
    assert (note.channel, note.address, note.language) == (Channel.SLACK, "U0123ABCD", Language.NN)
    assert note.kind is NotificationKind.OFFER
    fallback = notification_for(offer, profile(), frozenset({Channel.EMAIL}), RECEIVED_AT)
    assert not isinstance(fallback, Skip) and fallback.channel is Channel.EMAIL
    assert fallback.notification_id != note.notification_id


def test_unknown_opted_out_and_unreachable_people_are_skipped() -> None:
    offer = next(offers_for(minimize(native_report(), KEY), RECEIVED_AT))
    assert notification_for(offer, None, ALL, RECEIVED_AT) is Skip.UNKNOWN_STAFF
    assert notification_for(offer, profile(opted_out=True), ALL, RECEIVED_AT) is Skip.OPTED_OUT
    assert notification_for(offer, profile(channels=()), ALL, RECEIVED_AT) is Skip.NO_CHANNEL
    only_sms = frozenset({Channel.SMS})
    assert notification_for(offer, profile(), only_sms, RECEIVED_AT) is Skip.NO_CHANNEL


def test_notification_carries_nothing_about_the_incident() -> None:
    offer = next(offers_for(minimize(native_report(), KEY), RECEIVED_AT))
    note = notification_for(offer, profile(), ALL, RECEIVED_AT)
    text = note.model_dump_json() if not isinstance(note, Skip) else ""
    for incident_detail in (offer.incident, "MED-3", "medication", "2026-11-20", "moderate"):
        assert incident_detail not in text
