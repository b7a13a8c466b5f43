"""Who gets an offer under the policy, and how the notification is addressed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from schemas import (
    Channel,
    ContactPoint,
    IncidentSignal,
    Language,
    NotificationKind,
    Profession,
    StaffProfile,
    SupportOffer,
)
from schemas.boundary import minimize
from streams.agents.dispatch import Dispatcher, Skip, notification_for
from streams.ledger import Ledger
from streams.metrics import WorkerMetrics
from streams.policy.decide import Suppressed, decide
from streams.schedule import Pending, Schedule, Stage
from tests.unit.helpers import KEY, RECEIVED_AT, lenient_policy, native_report

ALL = frozenset(Channel)
POLICY = lenient_policy()


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


def signal(**changes: object) -> IncidentSignal:
    return minimize(native_report(**changes), KEY)


def first_offer() -> SupportOffer:
    return decide(signal(), POLICY, RECEIVED_AT).offers[0]


def test_reporters_and_involved_get_offers_witnesses_do_not() -> None:
    decision = decide(signal(), POLICY, RECEIVED_AT)
    assert [(offer.staff_ref, offer.role.value) for offer in decision.offers] == [
        ("emp-1", "reporter"),
        ("emp-2", "involved"),
    ]
    assert [(role.value, reason) for role, reason in decision.suppressed] == [
        ("witness", Suppressed.ROLE)
    ]
    assert {offer.policy_version for offer in decision.offers} == {POLICY.version}


def test_offer_ids_are_stable_per_incident_and_person() -> None:
    first = [offer.offer_id for offer in decide(signal(), POLICY, RECEIVED_AT).offers]
    again = [offer.offer_id for offer in decide(signal(), POLICY, RECEIVED_AT).offers]
    other = [o.offer_id for o in decide(signal(report_id="AV-2"), POLICY, RECEIVED_AT).offers]
    assert first == again
    assert not set(first) & set(other)


def test_first_enabled_channel_in_the_persons_language_with_their_scheme() -> None:
    note = notification_for(first_offer(), profile(), ALL, RECEIVED_AT, POLICY)
    assert not isinstance(note, Skip)
    assert (note.channel, note.address, note.language) == (Channel.SLACK, "U0123ABCD", Language.NN)
    assert note.kind is NotificationKind.OFFER
    assert note.scheme is not None and note.scheme.scheme_id == "arbeidsgiver"
    assert note.scheme.name == "Kollegastøtte i helseføretaket"  # Nynorsk
    fallback = notification_for(
        first_offer(), profile(), frozenset({Channel.EMAIL}), RECEIVED_AT, POLICY
    )
    assert not isinstance(fallback, Skip) and fallback.channel is Channel.EMAIL
    assert fallback.notification_id != note.notification_id


def test_doctors_get_their_associations_scheme_in_english() -> None:
    doctor = profile(profession=Profession.PHYSICIAN, language=Language.EN)
    note = notification_for(first_offer(), doctor, ALL, RECEIVED_AT, POLICY)
    assert not isinstance(note, Skip) and note.scheme is not None
    assert note.scheme.scheme_id == "legeforeningen"
    assert note.scheme.name == "The Norwegian Medical Association's peer support scheme"
    assert [r.contact for r in note.scheme.resources] == [
        "via your manager or the intranet (example)",
        "116 123",
    ]


def test_a_reminder_is_a_different_notification() -> None:
    offer = first_offer()
    first = notification_for(offer, profile(), ALL, RECEIVED_AT, POLICY)
    reminder = notification_for(
        offer, profile(), ALL, RECEIVED_AT, POLICY, NotificationKind.REMINDER
    )
    assert not isinstance(first, Skip) and not isinstance(reminder, Skip)
    assert reminder.kind is NotificationKind.REMINDER
    assert reminder.notification_id != first.notification_id


def test_unknown_opted_out_and_unreachable_people_are_skipped() -> None:
    offer = first_offer()
    assert notification_for(offer, None, ALL, RECEIVED_AT, POLICY) is Skip.UNKNOWN_STAFF
    assert (
        notification_for(offer, profile(opted_out=True), ALL, RECEIVED_AT, POLICY) is Skip.OPTED_OUT
    )
    assert (
        notification_for(offer, profile(channels=()), ALL, RECEIVED_AT, POLICY) is Skip.NO_CHANNEL
    )
    only_sms = frozenset({Channel.SMS})
    assert notification_for(offer, profile(), only_sms, RECEIVED_AT, POLICY) is Skip.NO_CHANNEL


def test_notification_carries_nothing_about_the_incident() -> None:
    offer = first_offer()
    note = notification_for(offer, profile(), ALL, RECEIVED_AT, POLICY)
    text = note.model_dump_json() if not isinstance(note, Skip) else ""
    for detail in (offer.incident, "MED-3", "medication", "2026-11-20", "moderate", "AV-1"):
        assert detail not in text


def test_offer_is_due_after_the_delay() -> None:
    offer = first_offer()
    assert offer.due_at >= offer.reported_at + POLICY.timing.delay
    assert offer.due_at - RECEIVED_AT < timedelta(days=1)


class _Table:
    """What the ledgers and the schedule use of a Faust table: its data and its changelog."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.changelog: list[tuple[int, str, str | None]] = []

    def send_changelog(self, partition: int, key: str, value: str | None, **_: object) -> None:
        self.changelog.append((partition, key, value))


class _Channel:
    def __init__(self, stopping: bool) -> None:
        self.stopping = stopping
        self.sent: list[str] = []

    async def send(self, *, key: str, value: object) -> None:
        if self.stopping:  # the worker is stopped while the message waits for the producer
            raise asyncio.CancelledError
        self.sent.append(key)


def test_a_delivery_cut_short_before_the_message_is_sent_is_not_recorded_as_sent() -> None:
    # recorded first, a stop in between would make the replay skip a message never sent
    offer = first_offer()
    directory = SimpleNamespace(get=lambda ref: profile(staff_ref=ref))
    ctx = SimpleNamespace(
        clock=lambda: RECEIVED_AT,
        policy=SimpleNamespace(current=POLICY),
        directory=directory,
        enabled_channels=ALL,
        metrics=WorkerMetrics(),
    )
    sent = Ledger(_Table())
    pending = Pending(offer=offer, stage=Stage.OFFER, due_at=RECEIVED_AT, partition=0)

    def dispatcher(channel: _Channel) -> Dispatcher:
        schedule = Schedule(Ledger(_Table()))
        schedule.put(pending)
        channels = dict.fromkeys(Channel, channel)
        return Dispatcher(
            cast(Any, ctx), schedule, sent, channels, Ledger(_Table()), Ledger(_Table())
        )

    stopping = _Channel(stopping=True)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(dispatcher(stopping).deliver(pending))
    assert len(sent) == 0
    working = _Channel(stopping=False)
    asyncio.run(dispatcher(working).deliver(pending))  # the replay after the restart
    assert len(working.sent) == 1 and working.sent[0] in sent
