"""What the worker survives on a real broker: a broker that is not there yet, a flood of
malformed records, SIGKILL at random points, and losing one of two workers; and what a person
receives when the worker and the email sink are both killed at random points.

"Exactly one offer" is checked per offer: every expected offer id has a notification, and
each has exactly one notification id (a record may repeat after a crash at the topic level;
its id is the same, and a sink does not send an id its receipts say was delivered). At the
receiver, a sink killed between sending and recording the receipt may send that one message
again, under the same Message-ID."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from connectors.email import message_id
from runtime.broker import EmbeddedBroker, free_port
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics
from schemas import Channel, DeadLetter, Notification, StaffProfile
from tests.support.kafka import TopicReader, produce, produce_keyed
from tests.support.receivers import SmtpReceiver
from tests.support.reports import expected_offers, native_report
from tests.support.sink import SinkProcess
from tests.support.worker import WorkerProcess, pseudonym

PEOPLE = 200
SENDER = "kollegastotte@helseforetak.example"


def load_people(kafka: KafkaSettings, people: int = PEOPLE) -> None:
    profiles = [
        StaffProfile(
            staff_ref=f"emp-{n}",
            profession="nurse",
            unit_code="MED-3",
            channels=[{"channel": "email", "address": f"p{n}@sykehus.example"}],
        )
        for n in range(people)
    ]
    produce_keyed(
        kafka,
        Topics(kafka.topic_prefix).staff_directory,
        [(p.staff_ref, p.model_dump_json()) for p in profiles],
    )


class NotificationsByOffer:
    """offer id → the notification ids seen for it, parsing each record once."""

    def __init__(self) -> None:
        self.found: dict[str, set[str]] = {}
        self._parsed = 0

    def update(self, reader: TopicReader) -> dict[str, set[str]]:
        values = reader.values()
        for value in values[self._parsed :]:
            note = Notification.model_validate_json(value)
            self.found.setdefault(note.offer_id, set()).add(note.notification_id)
        self._parsed = len(values)
        return self.found


def assert_exactly_once(reader: TopicReader, expected: dict[str, str], timeout: float) -> None:
    seen = NotificationsByOffer()
    reader.poll_until(lambda _: len(seen.update(reader)) >= len(expected), timeout, 3)
    found = seen.update(reader)
    missing = [offer for offer in expected if offer not in found]
    doubled = {offer: ids for offer, ids in found.items() if len(ids) != 1}
    unexpected = set(found) - set(expected)
    assert not missing, f"{len(missing)} offers never notified"
    assert not doubled, f"{len(doubled)} offers notified under more than one id"
    assert not unexpected


def notification_ids(
    reader: TopicReader, expected: dict[str, str], timeout: float
) -> dict[str, str]:
    """offer id → its one notification id, once every expected offer is on the topic."""
    assert_exactly_once(reader, expected, timeout)
    found = NotificationsByOffer().update(reader)
    return {offer: next(iter(ids)) for offer, ids in found.items()}


def email_reader(kafka: KafkaSettings) -> TopicReader:
    return TopicReader(kafka, [Topics(kafka.topic_prefix).notifications(Channel.EMAIL)])


def test_worker_waits_for_a_broker_that_is_not_there_yet(tmp_path: Path) -> None:
    port = free_port()
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{port}",
        topic_prefix="late.",
        partitions=2,
        session_timeout_ms=6000,
    )
    worker = WorkerProcess(kafka, "late-broker", tmp_path)
    broker = EmbeddedBroker(port=port, log_file=tmp_path / "late-broker.log")
    try:
        start = threading.Thread(target=worker.start, kwargs={"ready_timeout": 120})
        start.start()
        deadline = time.monotonic() + 30
        while "broker not reachable, retrying" not in worker.log():
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.2)
        retry = next(
            r for r in worker.log_records() if r.get("event") == "broker not reachable, retrying"
        )
        assert retry["bootstrap_servers"] == kafka.bootstrap_servers
        broker.start()
        start.join(timeout=120)
        assert not start.is_alive(), "the worker did not become ready once the broker came"
        ensure_topics(kafka, Topics.of(kafka).specs())
        load_people(kafka, 10)
        reader = email_reader(kafka)
        produce(kafka, Topics(kafka.topic_prefix).incident_reports, [native_report(1, "late", 10)])
        reader.poll_until(lambda messages: len(messages) >= 2, timeout=60, idle=2)
        recipients = {Notification.model_validate_json(v).recipient_ref for v in reader.values()}
        assert recipients == {pseudonym("emp-1"), pseudonym("emp-0")}  # report 1's two people
    finally:
        worker.stop()
        broker.stop()


def malformed() -> st.SearchStrategy[bytes]:
    marker = st.from_regex(r"MRK[A-Z0-9]{10}", fullmatch=True)
    report = st.fixed_dictionaries(
        {
            "format": st.just("peer-support-bridge/incident-report"),
            "version": st.just(1),
            "report_id": marker,
            "source_system": st.just("fuzz"),
            "reported_at": st.just("2026-11-23T10:00:00+00:00"),
            "description": marker,
        }
    )

    def wrong_types(document: dict[str, object]) -> bytes:
        return json.dumps({**document, "staff": document["description"], "version": "1"}).encode()

    return st.one_of(
        report.map(wrong_types),
        marker.map(lambda m: json.dumps({"description": m * 20_000}).encode()),  # too large
        st.integers(220, 400).map(lambda depth: b"[" * depth + b'"MRKDEEP"' + b"]" * depth),
        marker.map(lambda m: f'{{"description": "{m}'.encode() + b"\xff\xfe" + b'"}'),
        marker.map(lambda m: f'{{"report_id": "{m}", "report_id": "x"}}'.encode()),
        st.sampled_from(["Patient", "Observation", "Bundle", "Encounter"]).flatmap(
            lambda kind: marker.map(
                lambda m: json.dumps({"resourceType": kind, "name": [{"text": m}]}).encode()
            )
        ),
        marker.map(lambda m: json.dumps([m]).encode()),
        st.binary(min_size=1, max_size=200).filter(lambda raw: not raw.strip().startswith(b"{")),
        st.just(b""),
    )


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(
    max_examples=1,
    phases=[Phase.generate],
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(flood=st.lists(malformed(), min_size=150, max_size=150))
def test_a_flood_of_malformed_records_never_stops_the_valid_ones(
    flood: list[bytes],
    kafka_factory: Callable[..., KafkaSettings],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    load_people(kafka)
    workdir = tmp_path_factory.mktemp("flood")
    worker = WorkerProcess(
        kafka, f"flood-{uuid.uuid4().hex[:6]}", workdir, extra_env={"PSB_MAX_REPORT_BYTES": "65536"}
    ).start()
    try:
        run = uuid.uuid4().hex[:6]
        valid = [native_report(n, run, PEOPLE) for n in range(50)]
        records: list[bytes] = []
        for index, bad in enumerate(flood):
            records.append(bad)
            if index % 3 == 0 and valid:
                records.append(valid.pop())
        records.extend(valid)
        produce(kafka, topics.incident_reports, records)
        reader = email_reader(kafka)
        assert_exactly_once(reader, expected_offers(50, run, PEOPLE), timeout=120)
        dlq = TopicReader(kafka, [Topics.dlq(topics.incident_reports)])
        dlq.poll_until(lambda messages: len(messages) >= len(flood), timeout=60, idle=2)
        letters = [DeadLetter.model_validate_json(value) for value in dlq.values()]
        assert len(letters) == len(flood)
        assert len({(letter.partition, letter.offset) for letter in letters}) == len(flood)
        assert b"MRK" not in b"".join(dlq.values())
        assert "MRK" not in worker.log()
        assert worker.process is not None and worker.process.poll() is None
    finally:
        worker.stop()


def test_sigkill_at_random_points_loses_and_doubles_nothing(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    load_people(kafka)
    run = uuid.uuid4().hex[:6]
    count = 2000
    rng = random.Random(run)
    print(f"chaos seed {run} (random.Random(run) replays these kills)")
    app_id = f"chaos-{run}"
    reader = email_reader(kafka)
    feeding_done = threading.Event()

    def feed() -> None:
        for start in range(0, count, 100):
            produce(
                kafka,
                topics.incident_reports,
                [native_report(n, run, PEOPLE) for n in range(start, start + 100)],
            )
            time.sleep(0.2)
        feeding_done.set()

    feeder = threading.Thread(target=feed)
    feeder.start()
    kills = 0
    try:
        while kills < 3:
            worker = WorkerProcess(kafka, app_id, tmp_path).start()
            time.sleep(rng.uniform(0.5, 4.0))
            worker.kill()
            kills += 1
        feeder.join()
        survivor = WorkerProcess(kafka, app_id, tmp_path).start()
        try:
            assert_exactly_once(reader, expected_offers(count, run, PEOPLE), timeout=180)
        finally:
            survivor.stop()
    finally:
        feeder.join()
    assert feeding_done.is_set()


def shared_partitions(
    kafka_factory: Callable[..., KafkaSettings], name: str
) -> tuple[KafkaSettings, Topics, str, str]:
    """Four partitions for two workers of one app to share, and the people to offer."""
    kafka = kafka_factory(partitions=4)
    load_people(kafka)
    run = uuid.uuid4().hex[:6]
    return kafka, Topics(kafka.topic_prefix), run, f"{name}-{run}"


def test_the_surviving_worker_takes_over_the_partitions_of_a_killed_one(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka, topics, run, app_id = shared_partitions(kafka_factory, "pair")
    first = WorkerProcess(kafka, app_id, tmp_path).start()
    second = WorkerProcess(kafka, app_id, tmp_path).start()
    reader = email_reader(kafka)
    try:
        produce(kafka, topics.incident_reports, [native_report(n, run, PEOPLE) for n in range(500)])
        reader.poll_until(lambda messages: len(messages) >= 100, timeout=60)
        second.kill()
        produce(
            kafka,
            topics.incident_reports,
            [native_report(n, run, PEOPLE) for n in range(500, 1000)],
        )
        assert_exactly_once(reader, expected_offers(1000, run, PEOPLE), timeout=180)
    finally:
        first.stop()
        second.stop()


def test_scaling_out_and_a_rolling_restart_lose_and_double_nothing(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    """A second worker joins while reports flow (scale-out), then the first one is stopped
    as a rolling update does: each time the partitions move mid-stream."""
    kafka, topics, run, app_id = shared_partitions(kafka_factory, "roll")
    first = WorkerProcess(kafka, app_id, tmp_path).start()
    second = WorkerProcess(kafka, app_id, tmp_path)
    reader = email_reader(kafka)

    def reports(start: int) -> list[bytes]:
        return [native_report(n, run, PEOPLE) for n in range(start, start + 400)]

    try:
        produce(kafka, topics.incident_reports, reports(0))
        reader.poll_until(lambda messages: len(messages) >= 100, timeout=60)
        produce(kafka, topics.incident_reports, reports(400))
        second.start()
        produce(kafka, topics.incident_reports, reports(800))
        first.stop()
        produce(kafka, topics.incident_reports, reports(1200))
        assert_exactly_once(reader, expected_offers(1600, run, PEOPLE), timeout=180)
    finally:
        first.stop()
        second.stop()


def wait_for_progress(smtp: SmtpReceiver, total: int, timeout: float = 30) -> None:
    """Until one more message arrives (the sink is delivering), or all have arrived."""
    before = len(smtp.messages)
    deadline = time.monotonic() + timeout
    while len(smtp.messages) == before and before < total:
        assert time.monotonic() < deadline, "the sink delivered nothing"
        time.sleep(0.05)


def test_killing_worker_and_email_sink_at_random_loses_no_offer_and_repeats_one_at_most(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    """A person's view: while reports flow, the email sink is SIGKILLed three times and the
    worker once, each at a random moment while messages are arriving. Every offer reaches
    the SMTP server for the right person; a message seen twice is a resend under the same
    Message-ID (the idempotency key), at most one per sink kill."""
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    load_people(kafka)
    run = uuid.uuid4().hex[:6]
    count = 120
    rng = random.Random(run)
    print(f"chaos seed {run} (random.Random(run) replays these kills)")
    expected = expected_offers(count, run, PEOPLE)
    reader = email_reader(kafka)
    kills = ["sink", "sink", "sink", "worker"]
    rng.shuffle(kills)

    def feed() -> None:
        for start in range(0, count, 20):
            reports = [native_report(n, run, PEOPLE) for n in range(start, start + 20)]
            produce(kafka, topics.incident_reports, reports)
            time.sleep(0.5)

    with SmtpReceiver() as smtp:
        channel_env = {
            "PSB_SMTP_HOST": "127.0.0.1",
            "PSB_SMTP_PORT": str(smtp.port),
            "PSB_SMTP_SECURITY": "none",
            "PSB_SMTP_FROM_ADDRESS": SENDER,
        }
        sink = SinkProcess(kafka, "email", tmp_path, channel_env).start()
        worker = WorkerProcess(kafka, f"person-{run}", tmp_path).start()
        feeder = threading.Thread(target=feed)
        feeder.start()
        try:
            for victim in kills:
                wait_for_progress(smtp, len(expected))
                time.sleep(rng.uniform(0.0, 1.0))
                if victim == "sink":
                    sink.kill()
                    sink.start()
                else:
                    worker.kill()
                    worker.start()
            feeder.join()
            ids = notification_ids(reader, expected, timeout=60)
            wanted = {message_id(ids[offer], SENDER): ref for offer, ref in expected.items()}
            assert len(wanted) == len(expected)  # one key per offer
            deadline = time.monotonic() + 60
            while not wanted.keys() <= {str(m["Message-ID"]) for m in list(smtp.messages)}:
                assert time.monotonic() < deadline, "offers never reached the SMTP server"
                time.sleep(0.2)
            time.sleep(1.5)  # room for a late repeat, if there were one
        finally:
            feeder.join()
            worker.stop()
            sink.stop()
    received = Counter(str(m["Message-ID"]) for m in smtp.messages)
    assert set(received) == set(wanted), "a message arrived that no offer asked for"
    for message in smtp.messages:  # each went to the person its offer is for
        person = wanted[str(message["Message-ID"])].removeprefix("emp-")
        assert message["To"] == f"p{person}@sykehus.example"
    repeats = sum(received.values()) - len(received)
    sink_kills = kills.count("sink")
    assert repeats <= sink_kills, f"{repeats} messages repeated after {sink_kills} sink kills"
