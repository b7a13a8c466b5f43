"""``peer-support topics create`` gives every topic the retention the documentation states,
and ``peer-support pseudonym`` names one person as the tables do."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from runtime.kafka import confluent_config
from runtime.settings import KafkaSettings
from runtime.topics import RETENTION, Topics
from tools.worker import TEST_PSEUDONYM_KEY, pseudonym

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


def peer_support(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    return subprocess.run(
        [sys.executable, "-m", "peer_support", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def configs(kafka: KafkaSettings, names: list[str]) -> dict[str, dict[str, str]]:
    admin = AdminClient(confluent_config(kafka))
    futures = admin.describe_configs([ConfigResource("topic", name) for name in names])
    return {
        resource.name: {key: entry.value for key, entry in future.result(timeout=10).items()}
        for resource, future in futures.items()
    }


def test_topics_create_sets_the_documented_retention_on_every_topic(broker: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=broker)
    prefix = f"t{uuid.uuid4().hex[:8]}."
    done = peer_support(
        "topics",
        "create",
        PSB_KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        PSB_KAFKA_TOPIC_PREFIX=prefix,
        PSB_KAFKA_REPORTS_RETENTION_HOURS="6",
    )
    assert done.returncode == 0, done.stderr
    topics = Topics(prefix)
    specs = topics.specs()
    found = configs(kafka, [spec.name for spec in specs])
    assert set(found) == {spec.name for spec in specs}
    kept = {name: settings.get("retention.ms") for name, settings in found.items()}
    assert kept[topics.incident_reports] == str(6 * 3_600_000)  # raw reports: hours
    assert kept[topics.incident_signals] == str(RETENTION["incident-signals"][0].days * DAY_MS)
    assert kept[topics.support_offers] == str(45 * DAY_MS)
    assert kept[Topics.dlq(topics.incident_reports)] == str(30 * DAY_MS)
    for spec in specs:
        settings = found[spec.name]
        if spec.compacted:
            assert settings["cleanup.policy"] == "compact", spec.name
            assert settings["delete.retention.ms"] == str(DAY_MS), spec.name
        else:
            assert settings["cleanup.policy"] == "delete", spec.name
            assert int(settings["retention.ms"]) <= 45 * DAY_MS, spec.name

    # a changed retention reaches topics that exist already, and only what differs changes
    again = peer_support(
        "topics",
        "create",
        PSB_KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        PSB_KAFKA_TOPIC_PREFIX=prefix,
        PSB_KAFKA_REPORTS_RETENTION_HOURS="12",
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["0 topics created", "1 topics' settings changed"]
    reports = configs(kafka, [topics.incident_reports])[topics.incident_reports]
    assert reports["retention.ms"] == str(12 * 3_600_000)


def test_the_pseudonym_command_names_one_person_as_the_tables_do() -> None:
    done = peer_support("pseudonym", "emp-1", PSB_PSEUDONYM_KEY=TEST_PSEUDONYM_KEY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == pseudonym("emp-1")
    prose = peer_support("pseudonym", "Kari Nordmann", PSB_PSEUDONYM_KEY=TEST_PSEUDONYM_KEY)
    assert prose.returncode == 2 and "Kari" not in prose.stderr
    keyless = peer_support("pseudonym", "emp-1")
    assert keyless.returncode == 2 and "PSB_PSEUDONYM_KEY" in keyless.stderr


def test_topics_check_finds_nothing_after_create_and_names_what_was_changed(broker: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    env = {"PSB_KAFKA_BOOTSTRAP_SERVERS": broker, "PSB_KAFKA_TOPIC_PREFIX": prefix}
    before = peer_support("topics", "check", **env)
    assert before.returncode == 1, before.stderr
    assert f"{prefix}incident-reports: missing" in before.stdout
    assert peer_support("topics", "create", **env).returncode == 0
    after = peer_support("topics", "check", **env)
    assert after.returncode == 0, after.stdout + after.stderr
    count = len(Topics(prefix).specs())
    assert after.stdout.strip() == f"{count} topics checked: {count} as they should be"
    shorter = peer_support("topics", "check", **env, PSB_KAFKA_REPORTS_RETENTION_HOURS="6")
    assert shorter.returncode == 1
    assert shorter.stdout.splitlines()[0] == (
        f"{prefix}incident-reports: retention.ms is {72 * 3_600_000}, should be {6 * 3_600_000}"
    )
