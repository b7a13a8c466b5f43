"""``peer-support replay`` as an operator runs it for a backfill: thousands of lines, some
malformed, some too old; the counts add up, and only signals reach Kafka."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from runtime.settings import KafkaSettings
from runtime.topics import Topics
from tests.unit.helpers import fixture, native_report
from tools.kafka import TopicReader
from tools.worker import TEST_PSEUDONYM_KEY

LINES = 3000
MARKER = "MRKREPLAY0000Z"


def run(*args: str, kafka: KafkaSettings | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    env["PSB_PSEUDONYM_KEY"] = TEST_PSEUDONYM_KEY
    if kafka is not None:
        env["PSB_KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
        env["PSB_KAFKA_TOPIC_PREFIX"] = kafka.topic_prefix
    return subprocess.run(
        [sys.executable, "-m", "peer_support", "replay", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def backfill_file(path: Path) -> dict[str, object]:
    """A file of mostly good reports in three formats, with malformed, blank and old lines;
    returns what a correct replay must count."""
    chooser = random.Random(5)
    malformed: list[int] = []
    expected = {"blank": 0, "older_than_since": 0, "valid": 0}
    with path.open("w") as out:
        for number in range(1, LINES + 1):
            kind = chooser.random()
            if kind < 0.02:
                out.write(f'{{"report_id": "{MARKER}", "title": "{MARKER}" \n')
                malformed.append(number)
            elif kind < 0.03:
                report = native_report(
                    report_id=f"B-{number}",
                    staff=[{"staff_ref": MARKER + " x", "role": "reporter"}],
                )
                out.write(json.dumps(report) + "\n")
                malformed.append(number)
            elif kind < 0.04:
                out.write("\n")
                expected["blank"] += 1
            elif kind < 0.10:
                old = native_report(report_id=f"O-{number}", reported_at="2020-01-01T10:00:00Z")
                out.write(json.dumps(old) + "\n")
                expected["older_than_since"] += 1
            elif kind < 0.2:
                event = fixture("r4-contributors.json")
                event["identifier"] = {"system": "urn:t", "value": f"R4-{number}"}
                out.write(json.dumps(event) + "\n")
                expected["valid"] += 1
            elif kind < 0.3:
                event = fixture("r5-participants.json")
                event["identifier"] = [{"system": "urn:t", "value": f"R5-{number}"}]
                out.write(json.dumps(event) + "\n")
                expected["valid"] += 1
            else:
                report = native_report(report_id=f"N-{number}", title=f"Pasient {MARKER}")
                out.write(json.dumps(report) + "\n")
                expected["valid"] += 1
    return {**expected, "malformed_lines": malformed}


def test_replay_counts_add_up_and_only_signals_reach_kafka(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    file = tmp_path / "backfill.ndjson"
    expected = backfill_file(file)
    result = run(str(file), "--since", "2025-01-01", "--json", kafka=kafka)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    malformed_lines = expected["malformed_lines"]
    assert isinstance(malformed_lines, list)
    assert summary["lines"] == LINES
    assert summary["blank"] == expected["blank"]
    assert summary["older_than_since"] == expected["older_than_since"]
    assert summary["malformed"] == len(malformed_lines)
    assert summary["produced"] == summary["valid"] == expected["valid"]
    assert summary["failed"] == 0
    assert (
        summary["blank"] + summary["older_than_since"] + summary["malformed"] + summary["produced"]
    ) == LINES
    reported = [int(n) for n in re.findall(r"^line (\d+): ", result.stderr, re.MULTILINE)]
    assert reported == malformed_lines
    assert MARKER not in result.stdout + result.stderr

    topics = Topics(kafka.topic_prefix)
    reader = TopicReader(kafka, [topics.incident_signals, topics.incident_reports])
    try:
        messages = reader.read_to_end()  # replay ended: all it wrote is acknowledged
    finally:
        reader.close()
    assert len(messages) == summary["produced"]
    assert {m.topic() for m in messages} == {topics.incident_signals}
    assert not any(MARKER.encode() in (m.value() or b"") for m in messages)


def test_dry_run_validates_and_produces_nothing(tmp_path: Path) -> None:
    file = tmp_path / "trial.ndjson"
    file.write_text(
        json.dumps(native_report(report_id="D-1"))
        + "\nnot json at all "
        + MARKER
        + "\n"
        + json.dumps(native_report(report_id="D-2"))
        + "\n"
    )
    result = run(str(file), "--dry-run")  # no broker configured: nothing may try to reach one
    assert result.returncode == 0, result.stderr
    assert "valid (dry run, nothing produced): 2" in result.stdout
    assert "malformed: 1" in result.stdout
    assert "line 2: $: the record is not valid JSON (invalid-json)" in result.stderr
    assert MARKER not in result.stdout + result.stderr


def test_samples_replay_in_a_dry_run() -> None:
    samples = (
        Path(__file__).resolve().parents[2] / "peer_support" / "samples" / "past-reports.ndjson"
    )
    result = run(str(samples), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["lines"] == summary["valid"] + summary["malformed"] + summary["blank"]
    assert summary["valid"] >= 1
