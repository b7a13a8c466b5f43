"""Who gets an offer under the policy, and how the notification is addressed."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import faust
import pytest

from runtime.topics import Topics
from schemas import (
    Channel,
    ContactPoint,
    IncidentSignal,
    Language,
    NotificationKind,
    Profession,
    StaffProfile,
    StaffRole,
    SupportOffer,
)
from schemas.boundary import PseudonymKey, minimize
from streams.agents.dispatch import SCHEDULED, Dispatcher, Skip, notification_for
from streams.faust_fixes import Outbox
from streams.ledger import TEXT, Ledger
from streams.metrics import WorkerMetrics
from streams.owner import owned_by
from streams.policy.decide import Suppressed, decide, offer_id_for
from streams.ports import emitter
from streams.schedule import PENDING, Pending, Schedule, Stage
from tests.support.outbox_broker import App as OutboxApp
from tests.support.outbox_broker import Batch, Broker
from tests.unit.fakes import People
from tests.unit.helpers import (
    EVERYONE,
    KEY,
    RECEIVED_AT,
    VOCABULARY,
    lenient_policy,
    native_report,
    staff,
)

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
    return minimize(native_report(**changes), KEY, VOCABULARY)


def first_offer() -> SupportOffer:
    return decide(signal(), POLICY, RECEIVED_AT, KEY, EVERYONE).offers[0]


def test_reporters_and_involved_get_offers_witnesses_do_not() -> None:
    decision = decide(signal(), POLICY, RECEIVED_AT, KEY, EVERYONE)
    assert [(offer.person, offer.role.value) for offer in decision.offers] == [
        (staff("emp-1"), "reporter"),
        (staff("emp-2"), "involved"),
    ]
    assert [(role.value, reason) for role, reason in decision.suppressed] == [
        ("witness", Suppressed.ROLE)
    ]
    assert {offer.policy_version for offer in decision.offers} == {POLICY.version}


def test_offer_ids_are_stable_per_incident_and_person() -> None:
    first = [
        offer.offer_id for offer in decide(signal(), POLICY, RECEIVED_AT, KEY, EVERYONE).offers
    ]
    again = [
        offer.offer_id for offer in decide(signal(), POLICY, RECEIVED_AT, KEY, EVERYONE).offers
    ]
    other = [
        o.offer_id
        for o in decide(signal(report_id="AV-2"), POLICY, RECEIVED_AT, KEY, EVERYONE).offers
    ]
    assert first == again
    assert not set(first) & set(other)


def test_someone_the_directory_does_not_know_gets_no_offer() -> None:
    decision = decide(signal(), POLICY, RECEIVED_AT, KEY, {staff("emp-1")})
    assert [offer.person for offer in decision.offers] == [staff("emp-1")]
    assert (StaffRole.INVOLVED, Suppressed.UNKNOWN_STAFF) in decision.suppressed


def test_offer_ids_cannot_be_computed_without_the_key() -> None:
    offer = first_offer()
    other_key = PseudonymKey(b"another-installation-key-0123456789abcdef")
    assert offer_id_for(other_key, offer.incident, offer.person) != offer.offer_id
    plain = hashlib.sha256(f"{offer.incident}\x1f{offer.person}".encode()).hexdigest()[:32]
    assert offer.offer_id != f"off_{plain}"


def test_first_enabled_channel_in_the_persons_language_with_their_scheme() -> None:
    note = notification_for(KEY, first_offer(), profile(), ALL, RECEIVED_AT, POLICY)
    assert not isinstance(note, Skip)
    assert (note.channel, note.address, note.language) == (Channel.SLACK, "U0123ABCD", Language.NN)
    assert note.kind is NotificationKind.OFFER
    assert note.scheme is not None and note.scheme.scheme_id == "arbeidsgiver"
    assert note.scheme.name == "Kollegastøtte i helseføretaket"  # Nynorsk
    fallback = notification_for(
        KEY, first_offer(), profile(), frozenset({Channel.EMAIL}), RECEIVED_AT, POLICY
    )
    assert not isinstance(fallback, Skip) and fallback.channel is Channel.EMAIL
    assert fallback.notification_id != note.notification_id


def test_doctors_get_their_associations_scheme_in_english() -> None:
    doctor = profile(profession=Profession.PHYSICIAN, language=Language.EN)
    note = notification_for(KEY, first_offer(), doctor, ALL, RECEIVED_AT, POLICY)
    assert not isinstance(note, Skip) and note.scheme is not None
    assert note.scheme.scheme_id == "legeforeningen"
    assert note.scheme.name == "The Norwegian Medical Association's peer support scheme"
    assert [r.contact for r in note.scheme.resources] == [
        "via your manager or the intranet (example)",
        "116 123",
    ]


def test_a_reminder_is_a_different_notification() -> None:
    offer = first_offer()
    first = notification_for(KEY, offer, profile(), ALL, RECEIVED_AT, POLICY)
    reminder = notification_for(
        KEY, offer, profile(), ALL, RECEIVED_AT, POLICY, NotificationKind.REMINDER
    )
    assert not isinstance(first, Skip) and not isinstance(reminder, Skip)
    assert reminder.kind is NotificationKind.REMINDER
    assert reminder.notification_id != first.notification_id


def test_unknown_opted_out_and_unreachable_people_are_skipped() -> None:
    offer = first_offer()
    assert notification_for(KEY, offer, None, ALL, RECEIVED_AT, POLICY) is Skip.UNKNOWN_STAFF
    assert (
        notification_for(KEY, offer, profile(opted_out=True), ALL, RECEIVED_AT, POLICY)
        is Skip.OPTED_OUT
    )
    assert (
        notification_for(KEY, offer, profile(channels=()), ALL, RECEIVED_AT, POLICY)
        is Skip.NO_CHANNEL
    )
    only_sms = frozenset({Channel.SMS})
    assert notification_for(KEY, offer, profile(), only_sms, RECEIVED_AT, POLICY) is Skip.NO_CHANNEL


def test_notification_carries_nothing_about_the_incident() -> None:
    offer = first_offer()
    note = notification_for(KEY, offer, profile(), ALL, RECEIVED_AT, POLICY)
    text = note.model_dump_json() if not isinstance(note, Skip) else ""
    for detail in (offer.incident, "MED-3", "medication", "2026-11-20", "moderate", "AV-1"):
        assert detail not in text


def test_offer_is_due_after_the_delay() -> None:
    offer = first_offer()
    assert offer.due_at >= offer.reported_at + POLICY.timing.delay
    assert offer.due_at - RECEIVED_AT < timedelta(days=1)


class _StoppingBroker(Broker):
    """The worker is stopped while a notification waits for the broker; the rest it takes."""

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> Any:
        if ".notifications." in topic:
            raise asyncio.CancelledError
        return await super().send_batch(batch, topic, partition=partition)


def _dispatcher(box: Outbox, table: Callable[[str], Any]) -> Dispatcher:
    pending = Ledger(table("pending"), box, PENDING)
    box.work_table(pending._table)
    sent, asked = (Ledger(table(name), box, TEXT) for name in ("sent", "asked"))
    return Dispatcher(
        schedule=Schedule(pending),
        sent=sent,
        scheduled=Ledger(table("scheduled"), box, SCHEDULED),
        requested=asked,
        emit=emitter(Topics("psb."), box),
        directory=People({first_offer().person: profile()}),
        key=KEY,
        enabled_channels=ALL,
        policy=lambda: POLICY,
        clock=lambda: RECEIVED_AT,
        metrics=WorkerMetrics(),
    )


def test_a_delivery_cut_short_before_the_message_is_sent_is_not_recorded_as_sent() -> None:
    # the "sent" ledger's changelog is what a restarted worker believes: if it reached the
    # broker before the message did, the replay would skip a message never sent
    pending = Pending(offer=first_offer(), stage=Stage.OFFER, due_at=RECEIVED_AT)

    async def deliver(broker: Broker) -> None:  # in a worker of its own
        app = faust.App("dispatch-test", broker="kafka://localhost:1", store="memory://")

        def table(name: str) -> Any:
            return app.Table(name, default=None, key_type=str, value_type=str)

        box = Outbox(OutboxApp(broker))
        with owned_by(0):
            await _dispatcher(box, table).deliver(pending)
        await box.settle()  # the agent's flush, then Faust's commit

    stopped = _StoppingBroker()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(deliver(stopped))
    assert "dispatch-test-sent-changelog" not in [topic for topic, _, _ in stopped.log]
    restarted = Broker()
    asyncio.run(deliver(restarted))  # the replay after the restart: the message goes out
    topics = [topic for topic, _, _ in restarted.log]
    assert topics[0].startswith("psb.notifications.")  # the message first
    assert topics.index("dispatch-test-sent-changelog") > 0  # then what vouches for it
