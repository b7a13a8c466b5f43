"""Every table of the worker forgets on schedule, with tombstones in its changelog.

The worker runs as a process whose clock the test moves (``tools/movable_clock``).
An offer is made, notified and answered ("remind me later" for one person, an accept handed
to a supporter for the other), so every table holds something. Past the policy's
``retention.offers`` everything about the offers is gone; once the month can no longer
change, the worker's evaluation cells too, while the published figures stay on the
``evaluation`` topic; past ``retention.evaluation_months`` those are tombstoned as well.
The changelogs are what is checked: what a restarted worker would restore is what is left.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from connectors.directory.topic import read_latest
from runtime.kafka import confluent_config
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import (
    Answer,
    Channel,
    Notification,
    StaffProfile,
    SupporterProfile,
    SupportResponse,
)
from schemas.policy import default_policy_text
from tools.kafka import TopicReader, produce, produce_keyed
from tools.worker import WorkerProcess, pseudonym

pytestmark = pytest.mark.integration

PEOPLE = ("ret-1", "ret-2", "ret-sup")


MOVABLE_CLOCK = Path(__file__).resolve().parents[2] / "tools" / "movable_clock"
DAY = 86_400


def directory(kafka: KafkaSettings) -> None:
    topics = Topics(kafka.topic_prefix)
    profiles = [
        StaffProfile(
            staff_ref=ref,
            profession="nurse",
            unit_code=f"MED-{number}",
            channels=[{"channel": "email", "address": f"{ref}@sykehus.example"}],
        )
        for number, ref in enumerate(PEOPLE)
    ]
    produce_keyed(
        kafka, topics.staff_directory, [(p.staff_ref, p.model_dump_json()) for p in profiles]
    )
    supporter = SupporterProfile(
        staff_ref="ret-sup", scheme_id="arbeidsgiver", trained_until=date(2099, 1, 1)
    )
    produce_keyed(kafka, topics.supporters, [("ret-sup", supporter.model_dump_json())])


def report() -> bytes:
    return json.dumps(
        {
            "format": "peer-support-bridge/incident-report",
            "version": 1,
            "report_id": uuid.uuid4().hex,
            "source_system": "itest",
            "reported_at": datetime.now(UTC).isoformat(),
            "staff": [
                {"staff_ref": "ret-1", "role": "reporter"},
                {"staff_ref": "ret-2", "role": "involved"},
            ],
        }
    ).encode()


RETIRED_TABLES = ("supporter-load",)
"""Declared only so an upgraded worker forgets what older releases wrote there."""


def held(kafka: KafkaSettings, app_id: str) -> dict[str, int]:
    """What a restarted worker would restore: how many keys of each table have a value."""
    names = AdminClient(confluent_config(kafka)).list_topics(timeout=10).topics
    retired = {f"{app_id}-{table}-changelog" for table in RETIRED_TABLES}
    return {
        name.removeprefix(f"{app_id}-").removesuffix("-changelog"): len(read_latest(kafka, name))
        for name in sorted(names)
        if name.startswith(app_id) and name.endswith("-changelog") and name not in retired
    }


def until_held(
    kafka: KafkaSettings, app_id: str, expected: Callable[[dict[str, int]], bool]
) -> dict[str, int]:
    deadline = time.monotonic() + 60
    while not expected(found := held(kafka, app_id)):
        assert time.monotonic() < deadline, found
        time.sleep(1)
    return found


def until_published(
    kafka: KafkaSettings, topic: str, expected: Callable[[dict[str, bytes]], bool]
) -> None:
    deadline = time.monotonic() + 60
    while not expected(found := read_latest(kafka, topic)):
        assert time.monotonic() < deadline, len(found)
        time.sleep(1)


def test_every_table_forgets_on_schedule_with_tombstones(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    app_id = f"retention-{uuid.uuid4().hex[:8]}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        re.sub(
            r"quiet_hours:.*\n.*\n.*\n",
            "quiet_hours: null\n",
            default_policy_text().replace("delay: 2h", "delay: 0s"),
        )
    )
    clock = tmp_path / "clock"
    clock.write_text("0")
    directory(kafka)
    worker = WorkerProcess(
        kafka,
        app_id,
        tmp_path,
        policy=policy,
        extra_env={
            "PYTHONPATH": str(MOVABLE_CLOCK),
            "PSB_TEST_CLOCK_FILE": str(clock),
            "PSB_WORKER_EXPIRY_INTERVAL_S": "0.5",
        },
    ).start()
    reader = TopicReader(kafka, [topics.notifications(Channel.EMAIL)])
    try:
        produce(kafka, topics.incident_reports, [report()])
        reader.poll_until(lambda found: len(found) >= 2, timeout=60)
        offers = {
            note.recipient_ref: note
            for note in (Notification.model_validate_json(value) for value in reader.values())
        }
        answers = [
            SupportResponse(
                offer_id=offers[pseudonym(ref)].offer_id,
                person=pseudonym(ref),
                answer=answer,
                answered_at=datetime.now(UTC),
            )
            for ref, answer in (("ret-1", Answer.ACCEPT), ("ret-2", Answer.REMIND_LATER))
        ]
        produce_keyed(
            kafka, topics.support_responses, [(a.person, a.model_dump_json()) for a in answers]
        )
        worker.wait_metric('psb_handoffs_total{outcome="sent",route="supporter"}', 1)
        before = until_held(kafka, app_id, lambda found: len(found) == 10 and all(found.values()))

        clock.write_text(str(46 * DAY))  # retention.offers (45d) has passed
        after_offers = until_held(
            kafka, app_id, lambda found: sum(found.values()) == found["evaluation-cells"]
        )
        published = read_latest(kafka, topics.evaluation)
        assert published != {}  # the figures are kept longer

        clock.write_text(str((31 + 47) * DAY))  # past the month's end + retention.offers + 1d
        settled = until_held(kafka, app_id, lambda found: not any(found.values()))
        assert read_latest(kafka, topics.evaluation) == published  # still published

        clock.write_text(str((46 + 25 * 31) * DAY))  # and retention.evaluation_months (24)
        until_published(kafka, topics.evaluation, lambda found: found == {})
        at_last = until_held(kafka, app_id, lambda found: not any(found.values()))
        expired = worker.metrics()
    finally:
        worker.stop()
        reader.close()
    assert after_offers["evaluation-cells"] == before["evaluation-cells"]
    assert set(settled) == set(at_last) == set(before)
    for table in before:
        assert expired.get(f'psb_table_entries_expired_total{{table="{table}"}}', 0) >= 1, table
