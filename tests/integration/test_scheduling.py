"""Scheduling on the real broker: offers wait for the policy's delay, one reminder follows
unless the person answered, opt-out after scheduling wins, a restart loses and doubles
nothing, and a changed policy file takes effect without a restart."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Answer, Channel, Notification, StaffProfile, SupportResponse
from tools.kafka import TopicReader, produce, produce_keyed
from tools.worker import WorkerProcess, pseudonym

TIMED = Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "timed.yaml"


def profile(ref: str, opted_out: bool = False) -> StaffProfile:
    return StaffProfile.model_validate(
        {
            "staff_ref": ref,
            "profession": "nurse",
            "unit_code": "MED-3",
            "opted_out": opted_out,
            "channels": [{"channel": "email", "address": f"{ref}@sykehus.example"}],
        }
    )


def report(*reporters: str) -> bytes:
    return json.dumps(
        {
            "format": "peer-support-bridge/incident-report",
            "version": 1,
            "report_id": uuid.uuid4().hex,
            "source_system": "itest",
            "reported_at": datetime.now(UTC).isoformat(),
            "staff": [{"staff_ref": ref, "role": "reporter"} for ref in reporters],
        }
    ).encode()


def notifications(reader: TopicReader) -> list[Notification]:
    return [Notification.model_validate_json(value) for value in reader.values()]


def kinds_for(reader: TopicReader, ref: str) -> list[str]:
    return sorted(n.kind.value for n in notifications(reader) if n.recipient_ref == pseudonym(ref))


def load(kafka: KafkaSettings, *profiles: StaffProfile) -> None:
    topics = Topics(kafka.topic_prefix)
    produce_keyed(
        kafka, topics.staff_directory, [(p.staff_ref, p.model_dump_json()) for p in profiles]
    )


def email_reader(kafka: KafkaSettings) -> TopicReader:
    return TopicReader(kafka, [Topics(kafka.topic_prefix).notifications(Channel.EMAIL)])


def test_scheduled_offer_and_reminder_each_fire_once_across_restarts(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    load(kafka, profile("emp-r1"))
    app_id = f"sched-{uuid.uuid4().hex[:8]}"
    first = WorkerProcess(kafka, app_id, tmp_path, policy=TIMED).start()
    produce(kafka, Topics(kafka.topic_prefix).incident_reports, [report("emp-r1")])
    first.wait_metric('psb_scheduled{stage="offer"}', 1)
    first.stop()  # before the offer is due (4 s after the report)
    reader = email_reader(kafka)
    assert not reader.read_to_end(), "the offer went out before it was due"

    second = WorkerProcess(kafka, app_id, tmp_path, policy=TIMED).start()
    reader.poll_until(lambda messages: len(messages) >= 1, timeout=60)
    second.wait_metric('psb_scheduled{stage="reminder"}', 1)
    second.stop()  # the reminder is due 6 s after the offer went out

    third = WorkerProcess(kafka, app_id, tmp_path, policy=TIMED).start()
    try:
        reader.poll_until(lambda messages: len(messages) >= 2, timeout=60)
        deadline = time.monotonic() + 30
        while third.metric("psb_schedule_backlog") != 0:  # nothing left that could fire
            assert time.monotonic() < deadline, "something is still scheduled"
            time.sleep(0.25)
        reader.read_to_end()
    finally:
        third.stop()
    assert kinds_for(reader, "emp-r1") == ["offer", "reminder"]


@pytest.fixture(scope="module")
def timed_worker(
    kafka_factory: Callable[..., KafkaSettings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[KafkaSettings, WorkerProcess, Path]]:
    kafka = kafka_factory()
    workdir = tmp_path_factory.mktemp("timed")
    policy = workdir / "policy.yaml"
    policy.write_text(TIMED.read_text())
    worker = WorkerProcess(kafka, f"timed-{uuid.uuid4().hex[:8]}", workdir, policy=policy)
    load(kafka, *(profile(f"emp-t{n}") for n in range(1, 7)))
    worker.start()
    yield kafka, worker, policy
    worker.stop()


def test_the_reminder_comes_only_without_an_answer(
    timed_worker: tuple[KafkaSettings, WorkerProcess, Path],
) -> None:
    kafka, worker, _ = timed_worker
    topics = Topics(kafka.topic_prefix)
    reader = email_reader(kafka)
    produce(kafka, topics.incident_reports, [report("emp-t1", "emp-t2")])
    reader.poll_until(
        lambda _: (
            {pseudonym("emp-t1"), pseudonym("emp-t2")}
            <= {n.recipient_ref for n in notifications(reader)}
        ),
        timeout=60,
    )
    offer_t1 = next(n for n in notifications(reader) if n.recipient_ref == pseudonym("emp-t1"))
    answer = SupportResponse(
        offer_id=offer_t1.offer_id,
        person=pseudonym("emp-t1"),
        answer=Answer.NOT_NOW,
        answered_at=datetime.now(UTC),
    )
    produce(kafka, topics.support_responses, [answer.model_dump_json()], key=answer.person)
    worker.wait_metric("psb_reminders_cancelled_total", 1)  # emp-t1's: none will come
    reader.poll_until(lambda _: kinds_for(reader, "emp-t2") == ["offer", "reminder"], timeout=60)
    reader.read_to_end()
    assert kinds_for(reader, "emp-t1") == ["offer"]
    assert kinds_for(reader, "emp-t2") == ["offer", "reminder"]


def test_opting_out_after_the_offer_was_scheduled_means_nothing_is_sent(
    timed_worker: tuple[KafkaSettings, WorkerProcess, Path],
) -> None:
    kafka, worker, _ = timed_worker
    reader = email_reader(kafka)
    opted_before = worker.metric('psb_not_notified_total{reason="opted-out"}')
    produce(kafka, Topics(kafka.topic_prefix).incident_reports, [report("emp-t3")])
    time.sleep(1.0)  # scheduled, not yet due (4 s)
    load(kafka, profile("emp-t3", opted_out=True))
    worker.wait_metric('psb_not_notified_total{reason="opted-out"}', opted_before + 1)
    reader.read_to_end()  # decided when it fell due: nothing is on its way
    assert kinds_for(reader, "emp-t3") == []


def versions_of(reader: TopicReader, ref: str) -> list[str]:
    return [n.policy_version for n in notifications(reader) if n.recipient_ref == pseudonym(ref)]


def test_a_changed_policy_file_takes_effect_and_a_broken_one_is_refused(
    timed_worker: tuple[KafkaSettings, WorkerProcess, Path],
) -> None:
    kafka, worker, policy = timed_worker
    topics = Topics(kafka.topic_prefix)
    reader = email_reader(kafka)
    policy.write_text(TIMED.read_text().replace("itest-timed-1", "itest-timed-2"))
    worker.wait_metric('psb_policy_info{policy_version="itest-timed-2"}', 1)
    produce(kafka, topics.incident_reports, [report("emp-t4")])
    reader.poll_until(lambda _: versions_of(reader, "emp-t4") != [], timeout=60)
    assert versions_of(reader, "emp-t4") == ["itest-timed-2"]

    policy.write_text(TIMED.read_text().replace("delay: 4s", "delay: soon"))
    deadline = time.monotonic() + 30
    while "new policy refused" not in worker.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    refused = [
        r for r in worker.log_records() if r.get("event", "").startswith("new policy refused")
    ]
    assert refused and refused[0]["policy_version"] == "itest-timed-2"
    assert any("timing.delay" in problem for problem in refused[0]["problems"])
    produce(kafka, topics.incident_reports, [report("emp-t5")])
    reader.poll_until(lambda _: versions_of(reader, "emp-t5") != [], timeout=60)
    assert versions_of(reader, "emp-t5") == ["itest-timed-2"]
    assert worker.metric('psb_policy_info{policy_version="itest-timed-2"}') == 1
