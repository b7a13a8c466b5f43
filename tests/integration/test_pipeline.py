"""The worker on a real broker: reports in, one notification per person out, replay-safe,
malformed records dead-lettered while the records behind them go on."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Channel, DeadLetter, Notification, StaffProfile
from tools.kafka import TopicReader, produce, produce_keyed
from tools.worker import WorkerProcess, pseudonym

DIRECTORY = [
    {
        "staff_ref": "emp-a1",
        "profession": "nurse",
        "unit_code": "MED-3",
        "channels": [{"channel": "email", "address": "a1@sykehus.example"}],
    },
    {
        "staff_ref": "emp-b2",
        "profession": "physician",
        "unit_code": "MED-3",
        "language": "nn",
        "channels": [{"channel": "sms", "address": "+4790000002"}],
    },
    {
        "staff_ref": "emp-c3",
        "profession": "health-care-worker",
        "unit_code": "MED-3",
        "channels": [{"channel": "email", "address": "c3@sykehus.example"}],
    },
    {
        "staff_ref": "Practitioner/d4",
        "profession": "social-educator",
        "unit_code": "ORT-2",
        "channels": [{"channel": "slack", "address": "U00000D4"}],
    },
    {
        "staff_ref": "Practitioner/e5",
        "profession": "nurse",
        "unit_code": "ORT-2",
        "opted_out": True,
        "channels": [{"channel": "email", "address": "e5@sykehus.example"}],
    },
    {
        "staff_ref": "Practitioner/g7",
        "profession": "psychologist",
        "unit_code": "PSY-1",
        "language": "en",
        "channels": [{"channel": "teams", "address": "g7@sykehus.example"}],
    },
    {
        "staff_ref": "Practitioner/h8",
        "profession": "nurse",
        "unit_code": "PSY-1",
        "channels": [{"channel": "email", "address": "h8@sykehus.example"}],
    },
]


def native(report_id: str) -> dict[str, Any]:
    return {
        "format": "peer-support-bridge/incident-report",
        "version": 1,
        "report_id": report_id,
        "source_system": "itest",
        "reported_at": "2026-11-20T14:03:00+01:00",
        "description": "Ola Testpasient fikk feil dose",
        "staff": [
            {"staff_ref": "emp-a1", "role": "reporter"},
            {"staff_ref": "emp-b2", "role": "involved"},
            {"staff_ref": "emp-c3", "role": "witness"},
        ],
    }


def fhir_r4(report_id: str) -> dict[str, Any]:
    return {
        "resourceType": "AdverseEvent",
        "identifier": {"system": "urn:itest", "value": report_id},
        "actuality": "actual",
        "subject": {"reference": "Patient/p1", "display": "Ola Testpasient"},
        "date": "2026-11-21T03:15:00+01:00",
        "recorder": {"reference": "Practitioner/d4"},
        "contributor": [{"reference": "Practitioner/e5"}, {"reference": "Device/pump"}],
    }


def fhir_r5(report_id: str) -> dict[str, Any]:
    return {
        "resourceType": "AdverseEvent",
        "identifier": [{"system": "urn:itest", "value": report_id}],
        "status": "completed",
        "actuality": "actual",
        "subject": {"reference": "Patient/p2"},
        "recordedDate": "2026-11-22T11:00:00+01:00",
        "recorder": {"reference": "Practitioner/unknown-f6"},
        "participant": [
            {"function": {"coding": [{"code": "PART"}]}, "actor": {"reference": "Practitioner/g7"}},
            {"function": {"coding": [{"code": "WIT"}]}, "actor": {"reference": "Practitioner/h8"}},
        ],
    }


EXPECTED = {
    (pseudonym("emp-a1"), Channel.EMAIL, "a1@sykehus.example"),
    (pseudonym("emp-b2"), Channel.SMS, "+4790000002"),
    (pseudonym("Practitioner/d4"), Channel.SLACK, "U00000D4"),
    (pseudonym("Practitioner/g7"), Channel.TEAMS, "g7@sykehus.example"),
}


@dataclass
class Pipeline:
    kafka: KafkaSettings
    topics: Topics
    worker: WorkerProcess

    def send(self, *documents: dict[str, Any] | bytes, key: str | None = None) -> None:
        produce(
            self.kafka,
            self.topics.incident_reports,
            [d if isinstance(d, bytes) else json.dumps(d).encode() for d in documents],
            key=key,
        )

    def reader(self, topics: list[str] | None = None) -> TopicReader:
        return TopicReader(
            self.kafka, topics or [self.topics.notifications(channel) for channel in Channel]
        )


@pytest.fixture(scope="module")
def pipeline(
    kafka_factory: Callable[..., KafkaSettings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    profiles = [StaffProfile.model_validate(entry) for entry in DIRECTORY]
    produce_keyed(
        kafka, topics.staff_directory, [(p.staff_ref, p.model_dump_json()) for p in profiles]
    )
    worker = WorkerProcess(
        kafka, f"itest-{uuid.uuid4().hex[:8]}", tmp_path_factory.mktemp("worker")
    )
    worker.start()
    yield Pipeline(kafka, topics, worker)
    worker.stop()


def notifications_for(reader: TopicReader) -> list[Notification]:
    return [
        Notification.model_validate_json(message.value())
        for message in reader.messages
        if ".notifications." in f".{message.topic()}"
    ]


def run_id() -> str:
    return uuid.uuid4().hex[:10]


def test_one_notification_per_involved_known_opted_in_person(pipeline: Pipeline) -> None:
    rid = run_id()
    reader = pipeline.reader()
    assert not reader.read_to_end(), "this test expects to run first on a fresh pipeline"
    before_skips = pipeline.worker.metrics()
    skips = (
        'psb_not_notified_total{reason="opted-out"}',  # known, offered, then not notified
        'psb_offers_suppressed_total{reason="unknown-staff",role="reporter"}',  # no offer
    )
    pipeline.send(native(f"N-{rid}"), fhir_r4(f"R4-{rid}"), fhir_r5(f"R5-{rid}"))
    reader.poll_until(lambda messages: len(messages) >= len(EXPECTED), timeout=60)
    for sample in skips:  # decided, so nothing more is on its way for them
        pipeline.worker.wait_metric(sample, before_skips.get(sample, 0) + 1)
    reader.read_to_end()
    got = {(n.recipient_ref, n.channel, n.address) for n in notifications_for(reader)}
    assert got == EXPECTED
    assert len(reader.messages) == len(EXPECTED)
    for message in reader.messages:
        note = Notification.model_validate_json(message.value())
        assert message.topic() == pipeline.topics.notifications(note.channel)
        assert message.key().decode() == note.notification_id
    after = pipeline.worker.metrics()
    for sample in skips:
        assert after.get(sample, 0) - before_skips.get(sample, 0) == 1, sample


def test_the_worker_shows_its_release_lag_per_agent_and_the_sources_heartbeat(
    pipeline: Pipeline,
) -> None:
    """Read after the first test's reports went through; agents hold no partition of a
    topic they do not read, so each shows only its own."""
    metrics = pipeline.worker.metrics()
    assert any(name.startswith("psb_build_info{version=") for name in metrics)
    assert "process_cpu_seconds_total" in metrics
    assert "psb_schedule_backlog" in metrics
    assert time.time() - metrics["psb_source_last_report_timestamp_seconds"] < 120

    def lag(agent: str, topic: str) -> float | None:
        return pipeline.worker.metrics().get(
            f'psb_consumer_lag_records{{consumer="{agent}",topic="{topic}"}}'
        )

    topics = pipeline.topics
    deadline = time.monotonic() + 15
    while (
        lag("minimize", topics.incident_reports),
        lag("offers", topics.incident_signals),
        lag("dispatch", topics.support_offers),
    ) != (0, 0, 0):  # all read, and committed within Faust's commit interval
        assert time.monotonic() < deadline, [
            line for line in pipeline.worker.metrics() if "lag" in line
        ]
        time.sleep(0.5)


def test_replayed_reports_yield_no_second_notification(pipeline: Pipeline) -> None:
    rid = run_id()
    reports = (native(f"N-{rid}"), fhir_r4(f"R4-{rid}"), fhir_r5(f"R5-{rid}"))
    reader = pipeline.reader()
    reader.read_to_end()
    earlier = {n.notification_id for n in notifications_for(reader)}
    pipeline.send(*reports)
    reader.poll_until(lambda messages: len(messages) >= len(earlier) + len(EXPECTED), timeout=60)
    first = {n.notification_id for n in notifications_for(reader)} - earlier
    assert len(first) == len(EXPECTED)

    duplicates = 'psb_duplicates_suppressed_total{stage="offer"}'
    before = pipeline.worker.metric(duplicates)
    pipeline.send(*reports)
    pipeline.send(*reports)
    offers_per_round = 5  # a1, b2 / d4, e5 / g7 (f6 is in no directory: no offer)
    pipeline.worker.wait_metric(duplicates, before + 2 * offers_per_round)
    reader.read_to_end()  # every repeat was suppressed: nothing more is on its way
    after = [
        n.notification_id for n in notifications_for(reader) if n.notification_id not in earlier
    ]
    assert sorted(after) == sorted(first)


def test_malformed_record_is_dead_lettered_and_the_records_behind_it_go_on(
    pipeline: Pipeline,
) -> None:
    rid = run_id()
    dlq = Topics.dlq(pipeline.topics.incident_reports)
    reader = pipeline.reader([dlq, *(pipeline.topics.notifications(c) for c in Channel)])
    malformed = [
        b'{"format": "peer-support-bridge/incident-report", "title": "Ola Testpasient MRKDLQ1"',
        json.dumps({**native(f"N-{rid}"), "staff": "MRKDLQ2 Ola Testpasient"}).encode(),
        b'{"description": "\xff\xfe MRKDLQ3"}',
    ]
    key = f"same-partition-{rid}"
    pipeline.send(*malformed, key=key)
    pipeline.send(native(f"N-{rid}-ok"), key=key)

    def done(messages: list[Any]) -> bool:
        letters = [m for m in messages if m.topic() == dlq]
        return len(letters) >= 3 and len(messages) - len(letters) >= 2

    reader.poll_until(done, timeout=60)
    reader.read_to_end()
    letters = [DeadLetter.model_validate_json(v) for v in reader.values(dlq)]
    mine = [letter for letter in letters if letter.source_topic == pipeline.topics.incident_reports]
    reasons = sorted(letter.reason.value for letter in mine[-3:])
    assert reasons == ["invalid-json", "not-utf8", "wrong-type"]
    assert len({letter.offset for letter in mine}) == len(mine)
    assert all(letter.partition == mine[-1].partition for letter in mine[-3:])
    raw = b"".join(reader.values(dlq))
    assert b"MRKDLQ" not in raw and b"Testpasient" not in raw
    assert {n.recipient_ref for n in notifications_for(reader)} >= {
        pseudonym("emp-a1"),
        pseudonym("emp-b2"),
    }
    assert "MRKDLQ" not in pipeline.worker.log()


def test_the_worker_log_is_json_and_free_of_report_content(pipeline: Pipeline) -> None:
    records = pipeline.worker.log_records()
    assert records, "the worker wrote no JSON log lines"
    text = pipeline.worker.log()
    assert "Testpasient" not in text
    for line in text.splitlines():
        if line.strip():
            json.loads(line)  # every line is JSON
    assert Path(pipeline.worker.log_path).exists()


def test_what_the_worker_built_to_start_is_out_of_the_garbage_collectors_view(
    pipeline: Pipeline,
) -> None:
    # every full collection scanned it all, about 55 ms in which no event moved
    deadline = time.monotonic() + 30
    while not (
        frozen := [
            record
            for record in pipeline.worker.log_records()
            if record.get("event") == "startup objects frozen"
        ]
    ):
        assert time.monotonic() < deadline, "the worker never froze its startup objects"
        time.sleep(0.2)
    assert int(str(frozen[0]["count"])) > 10_000


@pytest.mark.parametrize(
    "path",
    [
        "/table/",
        "/table/offers-scheduled/",
        "/table/offers-scheduled/off_00000000000000000000000000000000/",
        "/table/handoffs-made/off_00000000000000000000000000000000/",
        "/router/",
        "/router/offers-scheduled/key/off_00000000000000000000000000000000/",
        "/stats/",
        "/graph/",
        "/performance/",
        "/assignment/",
        "/evaluation",
    ],
)
def test_the_worker_serves_no_internal_state(pipeline: Pipeline, path: str) -> None:
    assert httpx.get(pipeline.worker.url(path), timeout=5).status_code == 404
