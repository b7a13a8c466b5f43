"""``peer-support demo``: the whole pipeline on the embedded broker with sample data.

Starts Tansu and a worker process, loads a small staff directory, sends sample reports
(native, FHIR R4, FHIR R5, a replay and a malformed one, all full of made-up patient
details), prints the notifications as the outbox sink receives them, then a summary read
from the topics themselves. Exits 0 when the expected notifications arrived.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import suppress
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Final

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from connectors.base.runner import SinkRunner
from connectors.outbox import OutboxSink
from peer_support import demo_answers
from peer_support.demo_channels import CHANNELS as DEMO_CHANNELS
from peer_support.demo_channels import LocalChannels
from runtime.broker import EmbeddedBroker, free_port
from runtime.clock import utc_now
from runtime.kafka import confluent_config, producer_config
from runtime.logging import configure
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics
from schemas import Channel, StaffProfile

PREFIX: Final = "demo."
SAMPLES: Final = resources.files("peer_support") / "samples"
REPORT_ORDER: Final = (
    "01-native-medication.json",
    "02-fhir-r4-fall.json",
    "03-fhir-r5-aggression.json",
    "01-native-medication.json",  # the same report again: no second offer
    "05-malformed.json",
    "06-native-opted-out.json",
)
EXPECTED_OFFERS: Final = 6
EXPECTED_NOTIFICATIONS: Final = 2 * EXPECTED_OFFERS  # each offer, then one reminder
WAIT_S: Final = 75.0


def say(text: str = "") -> None:
    print(text, flush=True)


def load_directory(kafka: KafkaSettings, topics: Topics) -> int:
    producer = Producer(producer_config(kafka))
    count = 0
    for line in (SAMPLES / "staff.ndjson").read_text().splitlines():
        if line.strip():
            profile = StaffProfile.model_validate_json(line)
            producer.produce(
                topics.staff_directory, key=profile.staff_ref, value=profile.model_dump_json()
            )
            count += 1
    producer.flush(30)
    return count


REPORTED: Final = ("reported_at", "recordedDate")
WHEN: Final = (*REPORTED, "occurred_at", "date", "occurrenceDateTime")


def as_if_just_reported(raw: bytes, now: datetime) -> bytes:
    """The sample moved in time so that it was reported a few minutes ago (its times keep
    their distances), as a live report would be; what is not a JSON object stays as it is."""
    try:
        document = json.loads(raw)
    except ValueError:
        return raw
    reported = next((document[name] for name in REPORTED if name in document), None)
    if not isinstance(document, dict) or not isinstance(reported, str):
        return raw
    shift = now - timedelta(minutes=5) - datetime.fromisoformat(reported)
    for name in WHEN:
        if isinstance(document.get(name), str):
            document[name] = (datetime.fromisoformat(document[name]) + shift).isoformat()
    return json.dumps(document, ensure_ascii=False).encode()


def send_reports(kafka: KafkaSettings, topics: Topics) -> None:
    producer = Producer(producer_config(kafka))
    now = utc_now()
    for name in REPORT_ORDER:
        sample = as_if_just_reported((SAMPLES / "reports" / name).read_bytes(), now)
        producer.produce(topics.incident_reports, value=sample)
        producer.flush(30)
        say(f"  sent        {name}")


def worker_env(bootstrap: str, port: int, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PSB_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "PSB_KAFKA_TOPIC_PREFIX": PREFIX,
        "PSB_KAFKA_PARTITIONS": "3",
        "PSB_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "PSB_PSEUDONYM_KEY": secrets.token_hex(32),
        "PSB_WORKER_APP_ID": "psb-demo",
        "PSB_WORKER_WEB_HOST": "127.0.0.1",
        "PSB_WORKER_WEB_PORT": str(port),
        "PSB_WORKER_DATA_DIR": str(workdir / "worker"),
        "PSB_WORKER_CHANNELS": "email,sms,teams,slack,webhook",
        "PSB_WORKER_SCHEDULER_INTERVAL_MS": "250",
        "PSB_POLICY_FILE": str(SAMPLES / "demo-policy.yaml"),
        "PSB_SOURCE_SYSTEMS": "demo-avvik",
    }


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "peer_support", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_ready(port: int, worker: subprocess.Popen[bytes], timeout: float) -> float:
    started = time.monotonic()
    url = f"http://127.0.0.1:{port}/health/ready"
    while time.monotonic() - started < timeout:
        if worker.poll() is not None:
            raise RuntimeError("the worker exited during start-up")
        with suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError("the worker did not become ready")


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def topic_counts(kafka: KafkaSettings, names: list[str], idle_s: float = 1.5) -> dict[str, int]:
    """Records in each topic, counted by reading them (Tansu 0.6 reports the high
    watermark of a multi-record batch as its base offset + 1, so watermarks undercount)."""
    consumer = Consumer(
        confluent_config(kafka, **{"group.id": f"demo-count-{secrets.token_hex(4)}"})
    )
    metadata = consumer.list_topics(timeout=10)
    consumer.assign(
        [
            TopicPartition(name, number, OFFSET_BEGINNING)
            for name in names
            for number in metadata.topics[name].partitions
        ]
    )
    counts = dict.fromkeys(names, 0)
    while (message := consumer.poll(idle_s)) is not None:
        topic = message.topic()
        if message.error() is None and topic is not None:
            counts[topic] += 1
    consumer.close()
    return counts


async def deliver_to_outbox(kafka: KafkaSettings, topics: Topics, sink: OutboxSink) -> list[str]:
    """Runs the outbox over every channel, and the email and webhook sinks against local
    servers; returns what arrived at those servers, as lines to print."""
    configure("warning")  # the sinks' per-message log lines would drown the demo's output
    runner = SinkRunner(
        sink, kafka, [topics.notifications(channel) for channel in Channel], group_id="demo-outbox"
    )
    stop = asyncio.Event()
    async with LocalChannels(kafka, topics) as channels:
        task = asyncio.create_task(runner.run(stop))
        deadline = time.monotonic() + WAIT_S
        while not _all_arrived(sink, channels) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(3.0)  # room for a duplicate to show up, if there were one
        stop.set()
        await task
    return channels.report() if _all_arrived(sink, channels) else ["CHANNELS INCOMPLETE"]


def _all_arrived(sink: OutboxSink, channels: LocalChannels) -> bool:
    expected = {c: sum(n.channel is c for n in sink.delivered) for c in DEMO_CHANNELS}
    return len(sink.delivered) >= EXPECTED_NOTIFICATIONS and (
        len(channels.arrived.emails) >= expected[Channel.EMAIL]
        and len(channels.arrived.events) >= expected[Channel.WEBHOOK]
    )


def print_summary(kafka: KafkaSettings, topics: Topics, sink: OutboxSink) -> None:
    notification_topics = [topics.notifications(channel) for channel in Channel]
    counts = topic_counts(
        kafka,
        [
            topics.incident_reports,
            topics.incident_signals,
            topics.support_offers,
            Topics.dlq(topics.incident_reports),
            *notification_topics,
        ],
    )
    by_channel = {
        channel.value: counts[topics.notifications(channel)]
        for channel in Channel
        if counts[topics.notifications(channel)]
    }
    say()
    say("summary (read from the topics)")
    say(f"  reports in         {counts[topics.incident_reports]:>3}")
    say(f"  incident signals   {counts[topics.incident_signals]:>3}")
    say(f"  support offers     {counts[topics.support_offers]:>3}")
    say(f"  notifications      {sum(by_channel.values()):>3}   {json.dumps(by_channel)}")
    say(f"  dead-lettered      {counts[Topics.dlq(topics.incident_reports)]:>3}")
    say(f"  delivered (outbox) {len(sink.delivered):>3}")


def run_demo() -> int:
    say("peer-support-bridge demo: incident reports in, peer-support offers out")
    workdir = Path(tempfile.mkdtemp(prefix="psb-demo-"))
    with EmbeddedBroker(log_file=workdir / "broker.log") as broker:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap,
            topic_prefix=PREFIX,
            partitions=3,
            session_timeout_ms=6000,
        )
        topics = Topics(PREFIX)
        say(f"  broker      Tansu (embedded, memory storage) at {broker.bootstrap}")
        ensure_topics(kafka, topics.specs())
        say(f"  directory   {load_directory(kafka, topics)} staff profiles loaded")
        port = free_port()
        worker = start_worker(worker_env(broker.bootstrap, port, workdir), workdir / "worker.log")
        sink = OutboxSink()
        try:
            say("  worker      started, waiting until it is ready ...")
            say(f"  worker      ready after {wait_ready(port, worker, 60):.1f} s")
            send_reports(kafka, topics)
            say()
            say("notifications arriving at the outbox (offers now, reminders after 12 s):")
            arrived = asyncio.run(deliver_to_outbox(kafka, topics, sink))
            demo_answers.answer_some(kafka, sink.delivered, port, workdir)
        finally:
            stop_worker(worker)
        print_summary(kafka, topics, sink)
        say()
        for line in arrived:
            say(line)
        demo_answers.print_evaluation(kafka)
    ok = len(sink.delivered) == EXPECTED_NOTIFICATIONS and "CHANNELS INCOMPLETE" not in arrived
    say(f"  logs               {workdir}")
    say()
    say(
        "demo finished: "
        + ("every expected offer and reminder arrived, once" if ok else "UNEXPECTED RESULT")
    )
    return 0 if ok else 1
