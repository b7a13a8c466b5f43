"""Two workers of one deployment count as one: a supporter handed someone through one
worker's partition is busy for the other worker too, and a person whose unit changed within
the month is one person in the month's total on the evaluation CSV; a supporter who leaves
takes their load with them (one pair of workers for all, to keep the suite short)."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from confluent_kafka import Message

from runtime.broker import free_port
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import (
    Answer,
    Channel,
    Notification,
    NotificationKind,
    SupportOffer,
    SupportResponse,
)
from tests.integration.test_handoff import report, staff, supporter
from tools.kafka import TopicReader, produce, produce_keyed, produce_to
from tools.worker import WorkerProcess, pseudonym

REFS = [f"tw-{number}" for number in range(6)]


def mail(ref: str) -> dict[str, str]:
    return {"channel": "email", "address": f"{ref}@sykehus.example"}


def slack(address: str) -> dict[str, str]:
    return {"channel": "slack", "address": address}


def accept(kafka: KafkaSettings, offer: SupportOffer, partition: int) -> None:
    response = SupportResponse(
        offer_id=offer.offer_id,
        person=offer.person,
        answer=Answer.ACCEPT,
        answered_at=datetime.now(UTC),
    )
    topic = Topics(kafka.topic_prefix).support_responses
    produce_to(kafka, topic, partition, [response.model_dump_json().encode()])


def handed_to(messages: list[Message]) -> list[str]:
    notes = [Notification.model_validate_json(m.value() or b"") for m in messages]
    return [n.recipient_ref for n in notes if n.kind is NotificationKind.HANDOFF]


def at_least(count: int, of: Callable[[Any], list[Any]]) -> Callable[[list[Message]], bool]:
    return lambda messages: len(of(messages)) >= count


def views_read_all(kafka: KafkaSettings, topic: str, workers: Iterable[WorkerProcess]) -> None:
    """Until every worker's view of ``topic`` has read each record the topic holds now."""
    reader = TopicReader(kafka, [topic])
    try:
        records = len(reader.read_to_end())
    finally:
        reader.close()
    for worker in workers:
        worker.wait_metric(f'psb_view_records_read_total{{topic="{topic}"}}', records, timeout=30)


def total_row(url: str) -> dict[str, str]:
    month = datetime.now(ZoneInfo("Europe/Oslo")).strftime("%Y-%m")
    rows = list(csv.DictReader(io.StringIO(httpx.get(f"{url}?month={month}", timeout=10).text)))
    return rows[-1] if rows else {}


def test_two_workers_share_supporter_load_and_count_a_person_once(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory(partitions=2)  # one partition for each worker
    topics = Topics(kafka.topic_prefix)
    produce_keyed(
        kafka,
        topics.staff_directory,
        [
            *((ref, staff(ref, "MED-1", None, mail(ref))) for ref in REFS),
            ("sup-a", staff("sup-a", "SURG-1", None, slack("U0SUPA01"))),
            ("sup-b", staff("sup-b", "SURG-2", None, slack("U0SUPB01"))),
        ],
    )
    produce_keyed(
        kafka,
        topics.supporters,
        [("sup-a", supporter("sup-a", capacity=1)), ("sup-b", supporter("sup-b", capacity=1))],
    )
    app_id = f"two-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {"PSB_EVALUATION_K": "2", "PSB_EVALUATION_PORT": str(port)}
    first = WorkerProcess(kafka, app_id, tmp_path, extra_env=env)
    second = WorkerProcess(kafka, app_id, tmp_path)
    with ThreadPoolExecutor(2) as starting:  # both join one group: no need to take turns
        for started in [starting.submit(worker.start) for worker in (first, second)]:
            started.result()
    offers = TopicReader(kafka, [topics.support_offers])
    notes = TopicReader(kafka, [topics.notifications(channel) for channel in Channel])
    load = TopicReader(kafka, [topics.supporter_load])
    try:
        produce(kafka, topics.incident_reports, [report(*REFS)])
        offers.poll_until(lambda m: len(m) >= len(REFS), timeout=60)
        where = [
            (message.partition() or 0, SupportOffer.model_validate_json(message.value() or b""))
            for message in offers.messages
        ]
        by_partition = {partition: offer for partition, offer in where}
        assert sorted(by_partition) == [0, 1], "the people all landed in one partition"
        third = next((p, offer) for p, offer in where if offer not in by_partition.values())
        for number, (partition, offer) in enumerate([*by_partition.items(), third], start=1):
            accept(kafka, offer, partition)
            notes.poll_until(at_least(number, handed_to), timeout=60)
            if number < 3:  # counted by the supporter's partition, then seen by both workers
                load.poll_until(at_least(number, list), timeout=30)
                views_read_all(kafka, topics.supporter_load, (first, second))

        # two of them move to another unit and are offered support again this month
        moving = [
            ref for ref in REFS if pseudonym(ref) in {o.person for o in by_partition.values()}
        ]
        produce_keyed(
            kafka,
            topics.staff_directory,
            [(ref, staff(ref, "MED-2", None, mail(ref))) for ref in moving],
        )
        views_read_all(kafka, topics.staff_directory, (first, second))
        produce(kafka, topics.incident_reports, [report(*moving)])
        url = f"http://127.0.0.1:{port}/evaluation.csv"
        deadline = time.monotonic() + 60
        while total_row(url).get("offers") != str(len(REFS) + 2):
            assert time.monotonic() < deadline, f"figures not complete: {total_row(url)}"
            time.sleep(0.2)
        total = total_row(url)

        produce_keyed(kafka, topics.staff_directory, [("sup-a", None)])  # sup-a leaves
        load.poll_until(lambda m: any(r.value() is None for r in m), timeout=30)
    finally:
        with ThreadPoolExecutor(2) as stopping:
            list(stopping.map(WorkerProcess.stop, (second, first)))
    offers.close()
    notes.close()
    load.close()

    handed = handed_to(notes.messages)
    assert sorted(handed[:2]) == sorted([pseudonym("sup-a"), pseudonym("sup-b")])
    assert handed[2:] == ["coordinator:arbeidsgiver"]  # both busy, whichever worker asks
    assert total["people"] == str(len(REFS))  # those who moved count once
    [gone] = [r.key() for r in load.messages if r.value() is None]
    assert gone == pseudonym("sup-a").encode()  # their load is forgotten on every worker
