"""The whole pipeline, ``incident-reports`` to ``notifications.*``, as a worker process.

Throughput: a backlog of reports is written first, then the worker is started; the rate
is reports per second from the worker being ready to the last notification. Latency: at
a fixed offered load, from the moment a report is written to the moment its notification
can be read; each notification is matched to its report through the offer id, which the
bench can compute because it knows the pseudonym key.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from runtime.kafka import confluent_config, producer_config
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Channel, StaffProfile
from schemas.boundary import PseudonymKey, pseudonymize, pseudonymize_staff
from streams.policy.decide import offer_id_for
from tools.worker import TEST_PSEUDONYM_KEY, WorkerProcess

STAFF = 1000
SOURCE = "bench"


def load_directory(kafka: KafkaSettings, people: int) -> None:
    producer = Producer(producer_config(kafka, **{"queue.buffering.max.messages": 1_000_000}))
    topic = Topics(kafka.topic_prefix).staff_directory
    for number in range(people):
        profile = StaffProfile(
            staff_ref=f"emp-{number}",
            display_name="Kari Nordmann",
            profession="nurse",
            unit_code=f"U-{number % 40}",
            manager_ref=f"emp-{(number // 20) * 20}",
            channels=[{"channel": "email", "address": f"person{number}@sykehus.example"}],
        )
        while True:
            try:
                producer.produce(topic, profile.model_dump_json().encode(), profile.staff_ref)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)


def report(number: int, prefix: str) -> tuple[bytes, str, tuple[str, str]]:
    report_id = f"{prefix}-{number}"
    staff = (f"emp-{number % STAFF}", f"emp-{(number * 7 + 1) % STAFF}")
    document = {
        "format": "peer-support-bridge/incident-report",
        "version": 1,
        "report_id": report_id,
        "source_system": SOURCE,
        "reported_at": datetime.now(UTC).isoformat(),
        "unit_code": "MED-3",
        "severity": "moderate",
        "title": "Feil dose gitt",
        "description": "Pasienten fikk feil dose. " * 12,
        "patient": {"name": "Ola Testpasient", "national_id": "01017012345"},
        "staff": [
            {"staff_ref": staff[0], "role": "reporter"},
            {"staff_ref": staff[1], "role": "involved"},
        ],
    }
    return json.dumps(document).encode(), report_id, staff


class NotificationCounter:
    def __init__(self, kafka: KafkaSettings) -> None:
        topic = Topics(kafka.topic_prefix).notifications(Channel.EMAIL)
        self.consumer = Consumer(
            # a short fetch wait, so the reader adds no delay of its own to the latency
            confluent_config(
                kafka, **{"group.id": f"bench-{uuid.uuid4().hex}", "fetch.wait.max.ms": 5}
            )
        )
        partitions = self.consumer.list_topics(timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, n, OFFSET_BEGINNING) for n in partitions])

    def read(self, timeout: float = 0.2) -> list[tuple[float, bytes]]:
        """What arrived within ``timeout``; the arrival time is when the read returns, so
        latency runs use a short timeout (a read waits for the whole of it)."""
        messages = self.consumer.consume(10_000, timeout)
        now = time.perf_counter()
        return [(now, m.value() or b"") for m in messages if m.error() is None]


def throughput(kafka: KafkaSettings, workdir: Path, reports: int) -> tuple[float, int]:
    producer = Producer(producer_config(kafka, **{"queue.buffering.max.messages": 1_000_000}))
    topic = Topics(kafka.topic_prefix).incident_reports
    for number in range(reports):
        value, _, _ = report(number, "tp")
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)
    counter = NotificationCounter(kafka)
    worker = WorkerProcess(kafka, f"bench-{uuid.uuid4().hex[:6]}", workdir, extra_env=QUIET)
    worker.start(ready_timeout=180)
    started = time.perf_counter()
    seen, last = 0, started
    try:
        while seen < 2 * reports and time.perf_counter() - last < 60:
            arrived = counter.read()
            if arrived:
                seen += len(arrived)
                last = arrived[-1][0]
    finally:
        worker.stop()
    return reports / (last - started), worker.process.pid if worker.process else 0


QUIET = {"PSB_LOG_LEVEL": "warning"}


def latency(
    kafka: KafkaSettings, workdir: Path, per_second: float, seconds: float, warmup_s: float = 3.0
) -> tuple[float, float]:
    """p50 and p99 in steady state: the first ``warmup_s`` of the same load (a fresh worker
    opening connections and fetching metadata for every topic) are sent but not counted."""
    worker = WorkerProcess(kafka, f"bench-lat-{uuid.uuid4().hex[:6]}", workdir, extra_env=QUIET)
    worker.start(ready_timeout=180)
    counter = NotificationCounter(kafka)
    counter.read(2.0)  # skip what the throughput run left
    key = PseudonymKey(TEST_PSEUDONYM_KEY.encode())
    producer = Producer(producer_config(kafka, **{"linger.ms": 0}))
    topic = Topics(kafka.topic_prefix).incident_reports
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    warmup = int(per_second * warmup_s)
    total = warmup + int(per_second * seconds)
    started = time.perf_counter()
    try:
        for number in range(total):
            target = started + number / per_second
            while (now := time.perf_counter()) < target:
                for arrived_at, value in counter.read(min(0.005, target - now)):
                    note = json.loads(value)
                    if note["offer_id"] in sent_at:
                        latencies.append(arrived_at - sent_at.pop(note["offer_id"]))
            if number == warmup:
                latencies.clear()
            value, report_id, staff = report(number, f"lat-{uuid.uuid4().hex[:4]}")
            incident = pseudonymize(key, SOURCE, report_id)
            send_time = time.perf_counter()
            for person in staff:
                sent_at[offer_id_for(key, incident, pseudonymize_staff(key, person))] = send_time
            producer.produce(topic, value)
            producer.poll(0)
        deadline = time.perf_counter() + 30
        while sent_at and time.perf_counter() < deadline:
            for arrived_at, value in counter.read(0.005):
                note = json.loads(value)
                if note["offer_id"] in sent_at:
                    latencies.append(arrived_at - sent_at.pop(note["offer_id"]))
    finally:
        worker.stop()
    if sent_at:
        raise RuntimeError(f"{len(sent_at)} notifications never arrived")
    quantiles = statistics.quantiles(latencies, n=100)
    return quantiles[49] * 1000, quantiles[98] * 1000
