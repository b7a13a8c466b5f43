"""Hand-off on the real broker: an accepted offer reaches a peer supporter's channel (or the
coordinator's when nobody is free) with only what is needed to make contact, once, also
after a restart; "remind me later" brings one reminder, "not now" ends the offer."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import (
    Answer,
    Channel,
    Notification,
    NotificationKind,
    StaffProfile,
    SupporterProfile,
    SupportResponse,
)
from tools.kafka import TopicReader, produce, produce_keyed
from tools.worker import WorkerProcess, pseudonym

TIMED = Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "timed.yaml"
MARKERS = ("Ola Testpasient", "12345678901", "MARKER-FALL-7", "ward-secret-unit", "medication")


def staff(ref: str, unit: str, manager: str | None, channel: dict[str, str], **kw: str) -> str:
    return StaffProfile.model_validate(
        {
            "staff_ref": ref,
            "profession": "nurse",
            "unit_code": unit,
            "manager_ref": manager,
            "channels": [channel],
            **kw,
        }
    ).model_dump_json()


def supporter(ref: str, capacity: int = 3) -> str:
    return SupporterProfile(
        staff_ref=ref,
        scheme_id="arbeidsgiver",
        trained_until=date.today() + timedelta(days=365),
        capacity=capacity,
    ).model_dump_json()


def report(*refs: str) -> bytes:
    """A report full of things that must never reach a supporter."""
    return json.dumps(
        {
            "format": "peer-support-bridge/incident-report",
            "version": 1,
            "report_id": uuid.uuid4().hex,
            "source_system": "itest",
            "reported_at": datetime.now(UTC).isoformat(),
            "unit_code": "ward-secret-unit",
            "category": "medication",
            "description": "Ola Testpasient 12345678901 MARKER-FALL-7 fell at night",
            "staff": [{"staff_ref": ref, "role": "reporter"} for ref in refs],
        }
    ).encode()


def answer(kafka: KafkaSettings, offer: Notification, given: Answer) -> None:
    response = SupportResponse(
        offer_id=offer.offer_id,
        person=offer.recipient_ref,
        answer=given,
        answered_at=datetime.now(UTC),
    )
    produce(
        kafka,
        Topics(kafka.topic_prefix).support_responses,
        [response.model_dump_json()],
        key=response.person,
    )


def parsed(reader: TopicReader) -> list[Notification]:
    return [Notification.model_validate_json(value) for value in reader.values()]


def setup_directory(kafka: KafkaSettings) -> None:
    topics = Topics(kafka.topic_prefix)
    email = {"channel": "email", "address": "kari@sykehus.example"}
    produce_keyed(
        kafka,
        topics.staff_directory,
        [
            (
                "hp-1",
                staff(
                    "hp-1", "MED-3", "sup-boss", email, language="nn", display_name="Kari Nordmann"
                ),
            ),
            (
                "hp-2",
                staff("hp-2", "MED-3", "sup-boss", {"channel": "sms", "address": "+4791234567"}),
            ),
            (
                "sup-boss",
                staff("sup-boss", "SURG-1", None, {"channel": "slack", "address": "U0BOSS01"}),
            ),
            (
                "sup-other",
                staff(
                    "sup-other",
                    "SURG-1",
                    None,
                    {"channel": "slack", "address": "U0OTHER1"},
                    display_name="Per Hansen",
                ),
            ),
        ],
    )
    produce_keyed(
        kafka,
        topics.supporters,
        [("sup-boss", supporter("sup-boss")), ("sup-other", supporter("sup-other", capacity=1))],
    )


def test_accepted_offers_reach_a_supporter_then_the_coordinator_with_nothing_of_the_incident(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    setup_directory(kafka)
    app_id = f"handoff-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(kafka, app_id, tmp_path).start()
    channels = [topics.notifications(channel) for channel in Channel]
    reader = TopicReader(kafka, channels)
    try:
        produce(kafka, topics.incident_reports, [report("hp-1", "hp-2")])
        reader.poll_until(lambda m: len(m) >= 2, timeout=60)
        offers = {n.recipient_ref: n for n in parsed(reader)}
        for _ in range(3):  # a repeated click that slipped through still hands off once
            answer(kafka, offers[pseudonym("hp-1")], Answer.ACCEPT)
        reader.poll_until(lambda m: len(m) >= 3, timeout=60)
        answer(kafka, offers[pseudonym("hp-2")], Answer.ACCEPT)
        reader.poll_until(lambda m: len(m) >= 4, timeout=60)
    finally:
        worker.stop()

    # a restarted worker that sees the accept again hands off nothing new
    again = WorkerProcess(kafka, app_id, tmp_path).start()
    try:
        answer(kafka, offers[pseudonym("hp-1")], Answer.ACCEPT)
        again.wait_metric('psb_duplicates_suppressed_total{stage="handoff"}', 1)
        reader.read_to_end()  # suppressed: nothing more is on its way
    finally:
        again.stop()

    handoffs = [n for n in parsed(reader) if n.kind is NotificationKind.HANDOFF]
    assert [(n.recipient_ref, n.channel) for n in handoffs] == [
        (pseudonym("sup-other"), Channel.SLACK),  # not the line manager; has room for one
        ("coordinator:arbeidsgiver", Channel.EMAIL),  # nobody else free: the coordinator
    ]
    first, second = handoffs
    assert first.address == "U0OTHER1"
    assert first.display_name == "Per Hansen"
    assert first.handoff is not None
    assert (first.handoff.person, first.handoff.display_name) == (
        pseudonym("hp-1"),
        "Kari Nordmann",
    )
    assert (first.handoff.contact_channel, first.handoff.contact_address) == (
        Channel.EMAIL,
        "kari@sykehus.example",
    )
    assert (first.handoff.language.value, first.handoff.profession.value) == ("nn", "nurse")
    assert second.handoff is not None
    assert second.handoff.contact_address == "+4791234567"
    for message in reader.messages:
        if message.topic() in (
            topics.notifications(Channel.SLACK),
            topics.notifications(Channel.EMAIL),
        ):
            raw = (message.value() or b"").decode()
            for marker in MARKERS:
                assert marker not in raw
            assert "inc_" not in raw  # not even the incident's pseudonym
            assert '"hp-1"' not in raw and '"sup-other"' not in raw  # people as pseudonyms
    reader.close()


def test_remind_me_later_brings_one_reminder_and_not_now_ends_the_offer(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    mail = lambda ref: {"channel": "email", "address": f"{ref}@sykehus.example"}  # noqa: E731
    produce_keyed(
        kafka,
        topics.staff_directory,
        [(ref, staff(ref, "MED-1", None, mail(ref))) for ref in ("rl-1", "rl-2")],
    )
    worker = WorkerProcess(kafka, f"later-{uuid.uuid4().hex[:8]}", tmp_path, policy=TIMED).start()
    reader = TopicReader(kafka, [topics.notifications(Channel.EMAIL)])
    try:
        produce(kafka, topics.incident_reports, [report("rl-1", "rl-2")])
        reader.poll_until(lambda m: len(m) >= 2, timeout=60)
        offers = {n.recipient_ref: n for n in parsed(reader)}
        answer(kafka, offers[pseudonym("rl-1")], Answer.REMIND_LATER)
        answer(kafka, offers[pseudonym("rl-2")], Answer.NOT_NOW)
        worker.wait_metric("psb_reminders_cancelled_total", 2)
        answer(kafka, offers[pseudonym("rl-1")], Answer.REMIND_LATER)  # asked twice: still one
        reader.poll_until(lambda m: len(m) >= 3, timeout=60)
        deadline = time.monotonic() + 30
        while worker.metric("psb_schedule_backlog") != 0:  # nothing left that could fire
            assert time.monotonic() < deadline, "something is still scheduled"
            time.sleep(0.25)
        reader.read_to_end()
    finally:
        worker.stop()
    kinds = sorted((n.recipient_ref, n.kind.value) for n in parsed(reader))
    rl_1, rl_2 = pseudonym("rl-1"), pseudonym("rl-2")
    assert kinds == sorted([(rl_1, "offer"), (rl_1, "reminder"), (rl_2, "offer")])
    reader.close()


def test_a_worker_stopped_right_after_many_hand_offs_repeats_none_when_it_restarts(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    # Many accepts handled together leave their ledger entries in one record batch per
    # changelog partition. The embedded broker reported such a partition as ending after the
    # batch's first record, so a restarted worker restored only that one and handed the
    # others off again.
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    refs = [f"many-{number}" for number in range(6)]
    mail = lambda ref: {"channel": "email", "address": f"{ref}@sykehus.example"}  # noqa: E731
    produce_keyed(
        kafka,
        topics.staff_directory,
        [(ref, staff(ref, "MED-1", None, mail(ref))) for ref in refs],
    )
    app_id = f"many-{uuid.uuid4().hex[:8]}"
    reader = TopicReader(kafka, [topics.notifications(channel) for channel in Channel])

    def accept_all(offers: list[Notification]) -> None:
        responses = [
            SupportResponse(
                offer_id=offer.offer_id,
                person=offer.recipient_ref,
                answer=Answer.ACCEPT,
                answered_at=datetime.now(UTC),
            )
            for offer in offers
        ]
        produce_keyed(
            kafka,
            topics.support_responses,
            [(response.person, response.model_dump_json()) for response in responses],
        )

    worker = WorkerProcess(kafka, app_id, tmp_path).start()
    try:
        produce(kafka, topics.incident_reports, [report(*refs)])
        reader.poll_until(lambda m: len(m) >= len(refs), timeout=60)
        offers = parsed(reader)
        accept_all(offers)  # six keys in three partitions: at least two share one
        reader.poll_until(lambda m: len(m) >= 2 * len(refs), timeout=60)
    finally:
        worker.stop()  # at once: the commit at the stop writes the ledgers

    again = WorkerProcess(kafka, app_id, tmp_path).start()
    try:
        accept_all(offers)  # clicked again after the restart
        again.wait_metric('psb_duplicates_suppressed_total{stage="handoff"}', len(refs))
        reader.read_to_end()  # suppressed: nothing more is on its way
    finally:
        again.stop()
    handoffs = [n for n in parsed(reader) if n.kind is NotificationKind.HANDOFF]
    handed = sorted(n.handoff.person for n in handoffs if n.handoff is not None)
    assert handed == sorted(pseudonym(ref) for ref in refs)
    reader.close()
