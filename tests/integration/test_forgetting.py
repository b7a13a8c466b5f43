"""A leaver is forgotten: after the tombstone on staff-directory, the real worker holds
nothing about them, in memory or in the changelog topics it would restore from."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from confluent_kafka.admin import AdminClient

from connectors.directory.topic import read_latest
from runtime.kafka import confluent_config
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Notification
from tests.integration.test_scheduling import TIMED, email_reader, report
from tools.kafka import produce, produce_keyed
from tools.worker import WorkerProcess, pseudonym

STAFF = """staff_ref,profession,unit,email
emp-stays,nurse,MED-3,stays@sykehus.example
emp-leaves,nurse,MED-3,leaves@sykehus.example
"""


LEAVER, STAYER = pseudonym("emp-leaves").encode(), pseudonym("emp-stays").encode()


def load(kafka: KafkaSettings, file: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    env["PSB_KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    env["PSB_KAFKA_TOPIC_PREFIX"] = kafka.topic_prefix
    result = subprocess.run(
        [sys.executable, "-m", "peer_support", "directory", "load", str(file), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def changelogs(kafka: KafkaSettings, app_id: str) -> list[str]:
    topics = AdminClient(confluent_config(kafka)).list_topics(timeout=10).topics
    return sorted(name for name in topics if name.startswith(app_id) and "changelog" in name)


def test_a_tombstone_forgets_the_person_in_every_table(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    staff, supporters = tmp_path / "staff.csv", tmp_path / "supporters.csv"
    staff.write_text(STAFF)
    supporters.write_text(
        "staff_ref,scheme,trained_until\n"
        "emp-leaves,arbeidsgiver,2099-01-01\nemp-stays,arbeidsgiver,2099-01-01\n"
    )
    load(kafka, staff)
    load(kafka, supporters, "--supporters")
    app_id = f"forget-{uuid.uuid4().hex[:8]}"
    policy = tmp_path / "policy.yaml"  # long enough a delay to load a file meanwhile
    policy.write_text(TIMED.read_text().replace("delay: 4s", "delay: 12s"))
    worker = WorkerProcess(kafka, app_id, tmp_path, policy=policy).start()
    try:
        reader = email_reader(kafka)
        produce(kafka, topics.incident_reports, [report("emp-stays", "emp-leaves")])
        worker.wait_metric('psb_scheduled{stage="offer"}', 2)  # waiting: the delay is 12 s

        staff.write_text("\n".join(STAFF.splitlines()[:2]) + "\n")
        load(kafka, staff, "--replace")  # emp-leaves is no longer in the file
        # forgotten at once, not only when the offer falls due and finds no one
        pending_topic = next(n for n in changelogs(kafka, app_id) if "deliveries-pending" in n)
        deadline = time.monotonic() + 5
        while any(LEAVER in v for v in read_latest(kafka, pending_topic).values()):
            assert time.monotonic() < deadline, "the leaver's offer is still waiting"
            time.sleep(0.3)
        assert any(STAYER in v for v in read_latest(kafka, pending_topic).values())
        assert reader.read_to_end() == [], "the offers went out before the test was ready"
        assert "person forgotten" in worker.log()

        # the colleague who stays still gets the offer; the leaver gets nothing
        reader.poll_until(lambda messages: len(messages) >= 1, timeout=60)
        reader.read_to_end()  # the leaver's offer left the pending table above
        recipients = [Notification.model_validate_json(v).recipient_ref for v in reader.values()]
        assert recipients == [pseudonym("emp-stays")]
        worker.wait_metric('psb_scheduled{stage="reminder"}', 1)
        assert worker.metric('psb_scheduled{stage="offer"}') == 0

        # a waiting reminder is forgotten the same way (the reminder is due 6 s after the offer)
        produce_keyed(kafka, topics.staff_directory, [("emp-stays", None)])
        deadline = time.monotonic() + 5
        while any(STAYER in v for v in read_latest(kafka, pending_topic).values()):
            assert time.monotonic() < deadline, "the reminder is still waiting"
            time.sleep(0.3)
        reader.read_to_end()  # gone from the pending table: it cannot fire later
        assert len(reader.messages) == 1, "no reminder after the tombstone"
    finally:
        worker.stop()

    names = changelogs(kafka, app_id)
    assert any("deliveries-pending" in name for name in names)
    for name in names:
        for key, value in read_latest(kafka, name).items():
            for ref in ("emp-leaves", "emp-stays"):  # neither in clear nor as a pseudonym
                for trace in (ref, pseudonym(ref)):
                    assert trace not in key and trace.encode() not in value, name
    assert read_latest(kafka, topics.staff_directory) == {}
    assert read_latest(kafka, topics.supporters) == {}
    reader.close()


def test_a_tombstone_written_while_the_worker_was_down_is_honoured_after_restart(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    staff = tmp_path / "staff.csv"
    staff.write_text(STAFF)
    load(kafka, staff)
    app_id = f"forget-{uuid.uuid4().hex[:8]}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(TIMED.read_text().replace("delay: 4s", "delay: 40s"))
    first = WorkerProcess(kafka, app_id, tmp_path, policy=policy).start()
    try:
        produce(kafka, topics.incident_reports, [report("emp-leaves")])
        first.wait_metric('psb_scheduled{stage="offer"}', 1)
    finally:
        first.stop()
    pending_topic = next(n for n in changelogs(kafka, app_id) if "deliveries-pending" in n)
    assert any(LEAVER in v for v in read_latest(kafka, pending_topic).values())

    produce_keyed(kafka, topics.staff_directory, [("emp-leaves", None)])
    second = WorkerProcess(kafka, app_id, tmp_path, policy=policy).start()
    try:
        deadline = time.monotonic() + 20  # the offer is due 40 s after the report
        while any(LEAVER in v for v in read_latest(kafka, pending_topic).values()):
            assert time.monotonic() < deadline, "the leaver's offer was restored and waits"
            time.sleep(0.5)
    finally:
        second.stop()
