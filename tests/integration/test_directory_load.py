"""``peer-support directory load`` as an administrator runs it, on the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from connectors.directory.topic import read_latest
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import StaffProfile, SupporterProfile

STAFF = """staff_ref,display_name,profession,unit,manager_ref,language,email,sms
emp-1,Kari Nordmann,nurse,MED-3,emp-9,nb,kari@sykehus.example,
emp-2,Per Hansen,physician,MED-3,emp-9,nn,,+4791234567
emp-3,Aisha Khan,health-care-worker,ORT-2,,en,aisha@sykehus.example,
"""


def run(kafka: KafkaSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    env["PSB_KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    env["PSB_KAFKA_TOPIC_PREFIX"] = kafka.topic_prefix
    return subprocess.run(
        [sys.executable, "-m", "peer_support", "directory", "load", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_valid_rows_reach_the_topic_and_replace_tombstones_the_absent(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    topic = Topics(kafka.topic_prefix).staff_directory
    first = tmp_path / "staff.csv"
    first.write_text(STAFF + "emp-4,Ola Bad,surgeon,MED-3,,,ola(at)sykehus,\n")
    result = run(kafka, str(first))
    assert result.returncode == 2
    assert "line 5: profession: must be one of" in result.stderr
    assert "line 5: email: must be an email address" in result.stderr  # every problem
    assert "Ola Bad" not in result.stdout + result.stderr
    assert "4 rows read: 3 valid, 1 refused; 3 written" in result.stdout
    entries = read_latest(kafka, topic)
    assert sorted(entries) == ["emp-1", "emp-2", "emp-3"]
    per = StaffProfile.model_validate_json(entries["emp-2"])
    assert per.language.value == "nn" and per.channels[0].address == "+4791234567"

    # a refused row keeps --replace from removing anyone: that row may be a colleague
    second = tmp_path / "second.csv"
    second.write_text(STAFF.splitlines()[0] + "\nemp-1,Kari Nordmann,nurse,MED-4,,,,\n,,,,,,,x\n")
    result = run(kafka, str(second), "--replace")
    assert result.returncode == 2
    assert "replace skipped" in result.stdout
    assert sorted(read_latest(kafka, topic)) == ["emp-1", "emp-2", "emp-3"]

    # nor does a file that lists no one, which is more likely a mistake than a closure
    second.write_text(STAFF.splitlines()[0] + "\n")
    result = run(kafka, str(second), "--replace")
    assert result.returncode == 0, result.stderr
    assert "replace skipped: no one was removed because the file lists no one" in result.stdout
    assert sorted(read_latest(kafka, topic)) == ["emp-1", "emp-2", "emp-3"]

    # a clean file is the whole truth: emp-2 and emp-3 are tombstoned; a dry run says so
    second.write_text(STAFF.splitlines()[0] + "\nemp-1,Kari Nordmann,nurse,MED-4,,,,\n")
    result = run(kafka, str(second), "--replace", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "1 rows read: 1 valid, 0 refused; dry run, nothing written",
        "2 not in the file would be removed (tombstoned)",
    ]
    assert sorted(read_latest(kafka, topic)) == ["emp-1", "emp-2", "emp-3"]
    result = run(kafka, str(second), "--replace")
    assert result.returncode == 0, result.stderr
    assert "2 not in the file removed" in result.stdout
    entries = read_latest(kafka, topic)
    assert sorted(entries) == ["emp-1"]
    assert StaffProfile.model_validate_json(entries["emp-1"]).unit_code == "MED-4"


def test_supporters_and_dry_run(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    file = tmp_path / "supporters.ndjson"
    rows = (
        '{"staff_ref": "emp-1", "scheme_id": "arbeidsgiver", "trained_until": "2030-01-01"}\n'
        '{"staff_ref": "emp-2", "scheme_id": "legeforeningen", "trained_until": "2030-01-01",'
        ' "capacity": 5, "active": false}\n'
    )
    # PSB_POLICY_FILE is unset: the default policy's schemes are the ones there are
    file.write_text(
        rows + '{"staff_ref": "emp-3", "scheme_id": "fagforbundet", "trained_until": "2030-01-01"}'
    )
    dry = run(kafka, str(file), "--supporters", "--dry-run")
    assert dry.returncode == 2
    assert dry.stderr.splitlines() == [
        "line 3: scheme_id: must be a scheme of the policy: "
        "arbeidsgiver, legeforeningen, psykologforeningen, tannlegeforeningen"
    ]
    assert "3 rows read: 2 valid, 1 refused; dry run, nothing written" in dry.stdout
    topic = Topics(kafka.topic_prefix).supporters
    assert read_latest(kafka, topic, timeout=10) == {}
    file.write_text(rows)
    result = run(kafka, str(file), "--supporters")
    assert result.returncode == 0, result.stderr
    entries = read_latest(kafka, topic)
    assert SupporterProfile.model_validate_json(entries["emp-2"]).capacity == 5
