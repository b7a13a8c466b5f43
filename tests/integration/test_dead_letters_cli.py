"""``peer-support dead-letters`` on a real broker with a real worker: a report refused for a
setting, the setting fixed, the report re-driven, and each person offered support once, also
when the restarted worker has judged the report again itself and when the re-drive is run
again."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner, Result

from peer_support.dead_letters_cli import dead_letters_app
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import DeadLetter, IncidentSignal, Reason, StaffProfile, SupportOffer
from tests.unit.helpers import native_report
from tools.kafka import TopicReader, produce, produce_keyed
from tools.worker import WorkerProcess, pseudonym

MARKER = "MRKREDRIVE0Z"
PEOPLE = ("emp-r1", "emp-r2")
FENCE = "emp-r3"
"""Offered support for a report sent after the rest: their offer proves the rest was read."""
TOO_SMALL = "1024"
"""``PSB_MAX_REPORT_BYTES`` before the fix: the report below is larger."""


def cli(kafka: KafkaSettings, *args: str) -> Result:
    env = {
        "PSB_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "PSB_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "COLUMNS": "200",
    }
    return CliRunner().invoke(dead_letters_app, list(args), env=env)


def summary_of(result: Result) -> dict[str, object]:
    assert result.exit_code == 0, result.output
    assert MARKER not in result.output
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def offers_and_signals(reader: TopicReader, topics: Topics) -> tuple[list[str], int]:
    people = [
        SupportOffer.model_validate_json(value).person
        for value in reader.values(topics.support_offers)
    ]
    signals = [
        IncidentSignal.model_validate_json(v) for v in reader.values(topics.incident_signals)
    ]
    return people, len(signals)


def test_a_refused_report_is_redriven_after_the_fix_and_offers_once(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory(partitions=1)
    topics = Topics(kafka.topic_prefix)
    produce_keyed(
        kafka,
        topics.staff_directory,
        [
            (
                ref,
                StaffProfile(
                    staff_ref=ref, profession="nurse", unit_code="MED-3"
                ).model_dump_json(),
            )
            for ref in (*PEOPLE, FENCE)
        ],
    )
    report = native_report(
        report_id=f"RD-{uuid.uuid4().hex[:8]}",
        description=f"Pasient {MARKER} " + "x" * 1200,
        staff=[
            {"staff_ref": PEOPLE[0], "role": "reporter"},
            {"staff_ref": PEOPLE[1], "role": "involved"},
        ],
    )
    app_id = f"redrive-{uuid.uuid4().hex[:8]}"
    refusing = WorkerProcess(kafka, app_id, tmp_path, extra_env={"PSB_MAX_REPORT_BYTES": TOO_SMALL})
    refusing.start()
    dlq = Topics.dlq(topics.incident_reports)
    reader = TopicReader(
        kafka, [dlq, topics.incident_reports, topics.incident_signals, topics.support_offers]
    )
    try:
        produce(kafka, topics.incident_reports, [json.dumps(report)], key="report-key")
        reader.poll_until(lambda _: bool(reader.values(dlq)), timeout=60)
        refusing.stop()
        (letter,) = [DeadLetter.model_validate_json(v) for v in reader.values(dlq)]
        assert letter.reason is Reason.TOO_LARGE
        gone = letter.model_copy(update={"offset": letter.offset + 10_000})  # past retention
        produce(kafka, dlq, [gone.model_dump_json()])

        listed = summary_of(cli(kafka, "list", "--json"))
        assert listed["dead_letters"] == 2
        assert listed["rows"] == [
            {
                "topic": dlq,
                "reason": "too-large",
                "field_path": "$",
                "count": 2,
                "oldest": letter.recorded_at.isoformat().replace("+00:00", "Z"),
                "newest": gone.recorded_at.isoformat().replace("+00:00", "Z"),
            }
        ]

        # the fix: the default limit. The restarted worker reads its last records again
        # (PSB_WORKER_REWIND_RECORDS) and may judge the report anew before the re-drive
        # does; the ledgers make either way one offer per person
        fixed = WorkerProcess(kafka, app_id, tmp_path)
        fixed.start()
        try:
            dry = summary_of(cli(kafka, "redrive", "incident-reports", "--dry-run", "--json"))
            assert (dry["redriven"], dry["expired"], dry["already_redriven"]) == (1, 1, 0)

            first = cli(kafka, "redrive", "incident-reports", "--reason", "too-large")
            assert first.exit_code == 0, first.output
            assert f"re-driven to {topics.incident_reports}: 1\n" in first.stdout
            assert f"expired (no longer on the topic): {topics.incident_reports}/0/" in first.stderr
            again = summary_of(cli(kafka, "redrive", f"{topics.incident_reports}.dlq", "--json"))
            # one partition, read in order: the fence's offer comes after all the rest
            fence = native_report(
                report_id=f"RD-{uuid.uuid4().hex[:8]}",
                staff=[{"staff_ref": FENCE, "role": "reporter"}],
            )
            produce(kafka, topics.incident_reports, [json.dumps(fence)], key="fence-key")
            reader.poll_until(
                lambda _: pseudonym(FENCE) in offers_and_signals(reader, topics)[0], timeout=30
            )
            reader.read_to_end()
        finally:
            fixed.stop()
    finally:
        reader.close()
    people, _ = offers_and_signals(reader, topics)
    assert sorted(people) == sorted(pseudonym(ref) for ref in (*PEOPLE, FENCE))
    # the re-drive put the refused report back on its topic, once however often it ran
    redriven = [
        value for value in reader.values(topics.incident_reports) if MARKER.encode() in value
    ]
    assert len(redriven) == 2
    assert again == {
        "topic": topics.incident_reports,
        "dry_run": False,
        "dead_letters_read": 2,
        "redriven": 0,
        "already_redriven": 1,
        "expired": 1,
        "filtered": 0,
        "failed": 0,
        "unreadable": 0,
        "expired_positions": [f"{topics.incident_reports}/0/{gone.offset}"],
    }
    assert MARKER not in refusing.log() + fixed.log()
