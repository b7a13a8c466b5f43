"""What the worker survives on a real broker: a broker that is not there yet, a flood of
malformed records, SIGKILL at random points, and losing one of two workers; and what a person
receives when the worker and the email sink are both killed at random points.

"Exactly one offer" is checked per offer: every expected offer id has a notification, and
each has exactly one notification id (a record may repeat after a crash at the topic level;
its id is the same, and a sink does not send an id its receipts say was delivered). At the
receiver, a sink killed between sending and recording the receipt may send that one message
again, under the same Message-ID.

Absence (nothing lost, nothing twice) is proven against fences, not by waiting a while: reports
placed behind everything on every partition of every stage, and notifications behind
everything on every partition the sink reads. A partition is processed in order, so once a
fence is through, so is everything before it, redelivery after a crash included."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka.partitioner import murmur2
from confluent_kafka import Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from connectors.email import message_id
from runtime.broker import EmbeddedBroker, free_port
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics
from schemas import Channel, DeadLetter, Notification, StaffProfile
from schemas.boundary import pseudonymize
from streams.policy.decide import offer_id_for
from tests.support.notifications import notification
from tests.support.receivers import SmtpReceiver
from tests.support.reports import SOURCE, expected_offers, native_report
from tests.support.sink import SinkProcess
from tools.kafka import (
    TopicReader,
    partition_counts,
    produce,
    produce_keyed,
    produce_to,
)
from tools.worker import TEST_KEY as KEY
from tools.worker import WorkerProcess, pseudonym

PEOPLE = 200
TIMED_POLICY = Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "timed.yaml"
SENDER = "kollegastotte@helseforetak.example"
SESSION_TIMEOUT_MS = 2000
"""Session timeout of the workers and sinks here: how long a killed member holds its
partitions before a restarted or surviving one gets them (the embedded broker also takes
about half of it to settle a join). Below Kafka's 6 s minimum, which the embedded broker
does not enforce; the heartbeat follows it."""


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


def partition_of(key: str, partitions: int) -> int:
    """The partition the worker's producer writes ``key`` to (murmur2, Kafka's default)."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True)
class Fence:
    """Reports sent after all others, placed so that each stage's every partition holds one
    behind everything written to it: one report on each partition of incident-reports for
    each partition of incident-signals (whichever worker wrote to a signal partition, a fence
    follows its records there), each offering one person on every partition of
    support-offers (so every partition's schedule sends a fence offer). A partition is done
    in order, so when every fence offer is notified, every record before it was processed
    by its partition's owner of the moment, repeats after a crash included."""

    reports: dict[int, list[bytes]]
    """incident-reports partition → the fence reports for it."""
    offers: dict[str, str]
    """offer id → staff reference, as :func:`expected_offers`."""
    signal_partition: dict[str, int]
    """incident pseudonym → the incident-signals partition it must be on."""
    offer_partition: dict[str, int]
    """offer id → the support-offers partition it must be on."""


def fence_for(kafka: KafkaSettings, people: int) -> Fence:
    topics = Topics(kafka.topic_prefix)
    counts = partition_counts(
        kafka, [topics.incident_reports, topics.incident_signals, topics.support_offers]
    )
    to_signals, to_offers = counts[topics.incident_signals], counts[topics.support_offers]
    person_on: dict[int, str] = {}
    for number in range(people):
        person_on.setdefault(partition_of(pseudonym(f"emp-{number}"), to_offers), f"emp-{number}")
    assert len(person_on) == to_offers, "too few people for a fence on every offer partition"
    run = f"fence-{uuid.uuid4().hex[:6]}"
    fence = Fence({}, {}, {}, {})
    for report_partition in range(counts[topics.incident_reports]):
        for signal_partition in range(to_signals):
            number = 0
            while True:
                report_id = f"{run}-{report_partition}-{signal_partition}-{number}"
                incident = pseudonymize(KEY, SOURCE, report_id)
                if partition_of(incident, to_signals) == signal_partition:
                    break
                number += 1
            fence.signal_partition[incident] = signal_partition
            staff = [person_on[partition] for partition in range(to_offers)]
            fence.reports.setdefault(report_partition, []).append(report_of(report_id, staff))
            for partition, ref in enumerate(staff):
                offer = offer_id_for(KEY, incident, pseudonym(ref))
                fence.offers[offer] = ref
                fence.offer_partition[offer] = partition
    return fence


def report_of(report_id: str, staff: list[str]) -> bytes:
    """A report naming ``staff``: the first as reporter, the others as involved."""
    return json.dumps(
        {
            "format": "peer-support-bridge/incident-report",
            "version": 1,
            "report_id": report_id,
            "source_system": SOURCE,
            "reported_at": datetime.now(UTC).isoformat(),
            "description": "fence",
            "staff": [
                {"staff_ref": ref, "role": "reporter" if n == 0 else "involved"}
                for n, ref in enumerate(staff)
            ],
        }
    ).encode()


def assert_fence_placed(kafka: KafkaSettings, fence: Fence) -> None:
    """The fence went where :func:`fence_for` computed: the worker partitions as this file
    thinks, or the fence would prove nothing."""
    topics = Topics(kafka.topic_prefix)
    reader = TopicReader(kafka, [topics.incident_signals, topics.support_offers])
    try:
        messages = reader.read_to_end()
    finally:
        reader.close()
    placed: dict[str, int] = {}
    for message in messages:
        if message.topic() == topics.incident_signals:
            incident = (message.key() or b"").decode()
            if incident in fence.signal_partition:
                placed[incident] = message.partition() or 0
        else:
            offer = json.loads(message.value() or b"{}").get("offer_id", "")
            if offer in fence.offer_partition:
                placed[offer] = message.partition() or 0
    assert placed == fence.signal_partition | fence.offer_partition


PER_RECORD_EVENTS = (
    "signal minimized",
    "offer made",
    "no offer",
    "offer already made",
    "notification sent",
)


def story(worker: WorkerProcess, lines: int = 40) -> str:
    """The last of a worker's log without its per-record lines: rebalances, recoveries and
    warnings, to tell a stuck group from a stuck worker when a test fails."""
    kept = [
        line
        for line in worker.log().splitlines()
        if not any(f'"event": "{event}' in line for event in PER_RECORD_EVENTS)
    ]
    return f"--- {worker.log_path.name}\n" + "\n".join(kept[-lines:])


def assert_nothing_waits(workers: Iterable[WorkerProcess], timeout: float = 10.0) -> None:
    """No worker's schedule holds anything it could still send (the test policy sends at
    once, without reminders)."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        while (backlog := worker.metric("psb_schedule_backlog")) > 0:
            assert time.monotonic() < deadline, f"{backlog} entries still wait in a schedule"
            time.sleep(0.2)


def assert_exactly_once(
    kafka: KafkaSettings,
    reader: TopicReader,
    expected: dict[str, str],
    timeout: float,
    workers: Iterable[WorkerProcess] = (),
    people: int = PEOPLE,
) -> tuple[dict[str, str], dict[str, str]]:
    """Sends a :class:`Fence` behind everything the test sent, waits until every expected
    offer and every fence offer is notified, then reads the topic to its end: whatever the
    workers wrote before the fence is there, so a second id for an offer would be too.
    Call it once no more kills are to come. Returns offer id → its one notification id,
    and offer id → staff reference, the fence's offers included."""
    fence = fence_for(kafka, people)
    topic = Topics(kafka.topic_prefix).incident_reports
    for partition, reports in fence.reports.items():
        produce_to(kafka, topic, partition, reports)
    everyone = expected | fence.offers
    waiting = set(everyone)
    parsed = 0

    def all_notified(messages: list[Message]) -> bool:
        nonlocal parsed
        for message in messages[parsed:]:
            waiting.discard(Notification.model_validate_json(message.value() or b"").offer_id)
        parsed = len(messages)
        return not waiting

    reader.poll_until(all_notified, timeout)
    assert not waiting, f"{len(waiting)} offers never notified\n" + "\n".join(
        story(worker) for worker in workers
    )
    assert_nothing_waits(workers)
    ids: dict[str, set[str]] = {}
    for value in reader.read_to_end():
        note = Notification.model_validate_json(value.value() or b"")
        ids.setdefault(note.offer_id, set()).add(note.notification_id)
    doubled = [offer for offer, found in ids.items() if len(found) != 1]
    assert not doubled, f"{len(doubled)} offers notified under more than one id"
    assert set(ids) == set(everyone), "a notification for an offer no report asked for"
    assert_fence_placed(kafka, fence)
    return {offer: found.pop() for offer, found in ids.items()}, everyone


def email_reader(kafka: KafkaSettings) -> TopicReader:
    return TopicReader(kafka, [Topics(kafka.topic_prefix).notifications(Channel.EMAIL)])


def test_worker_waits_for_a_broker_that_is_not_there_yet(tmp_path: Path) -> None:
    port = free_port()
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{port}",
        topic_prefix="late.",
        partitions=2,
        session_timeout_ms=SESSION_TIMEOUT_MS,
    )
    # each attempt gives up after the connect timeout, then waits 2 s to try again
    worker = WorkerProcess(
        kafka, "late-broker", tmp_path, extra_env={"PSB_KAFKA_CONNECT_TIMEOUT_S": "2"}
    )
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
        before = expected_offers(1, "late", 10)
        report_1 = {o: ref for o, ref in expected_offers(2, "late", 10).items() if o not in before}
        assert_exactly_once(kafka, reader, report_1, timeout=60, workers=[worker], people=10)
        notes = [Notification.model_validate_json(value) for value in reader.values()]
        recipients = {note.recipient_ref for note in notes if note.offer_id in report_1}
        assert recipients == {pseudonym("emp-1"), pseudonym("emp-0")}  # report 1's two people
    finally:
        worker.stop()
        broker.stop()


def test_a_worker_whose_broker_goes_away_waits_quietly_and_still_stops_when_told(
    tmp_path: Path,
) -> None:
    """aiokafka logs the same few lines at every retry, ten times a second; an outage of an
    hour must not write hundreds of megabytes of them (each is let through once a minute).
    A stop then must not wait for the broker to take the offers that came due meanwhile:
    Faust's producer would, for 20 minutes."""
    broker = EmbeddedBroker(log_file=tmp_path / "gone-broker.log")
    broker.start()
    kafka = KafkaSettings(
        bootstrap_servers=broker.bootstrap,
        topic_prefix="gone.",
        partitions=2,
        session_timeout_ms=SESSION_TIMEOUT_MS,
    )
    worker = WorkerProcess(
        kafka,
        "gone-broker",
        tmp_path,
        policy=TIMED_POLICY,  # offers wait 4 s: they come due while the broker is away
        extra_env={"PSB_WORKER_STOP_TIMEOUT_S": "3"},
    )
    try:
        worker.start(ready_timeout=90)
        load_people(kafka, 10)
        produce(kafka, Topics(kafka.topic_prefix).incident_reports, [native_report(1, "gone", 10)])
        worker.wait_metric("psb_schedule_backlog", 2)
        before = len(worker.log_records())
        broker.stop()
        time.sleep(8)  # about 80 retries of each connection; the offers came due
        assert worker.process is not None and worker.process.poll() is None, worker.log()
        during = worker.log_records()[before:]
        library = Counter(
            (str(r["logger"]), str(r["event"]))
            for r in during
            if str(r.get("logger", "")).startswith("aiokafka")
        )
        assert library, "the outage should be logged"
        assert max(library.values()) == 1, library.most_common(3)
        assert len(during) < 100, len(during)
        worker.process.terminate()
        assert worker.process.wait(timeout=30) == 3, worker.log()
        last = worker.log_records()[-1]
        assert str(last["event"]).startswith("the worker did not stop in time"), last
    finally:
        worker.kill()
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
    kafka = kafka_factory(session_timeout_ms=SESSION_TIMEOUT_MS)
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
        assert_exactly_once(
            kafka, reader, expected_offers(50, run, PEOPLE), timeout=120, workers=[worker]
        )
        # the fence followed the flood on every partition: its dead letters are all written
        dlq = TopicReader(kafka, [Topics.dlq(topics.incident_reports)])
        dlq.read_to_end()
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
    kafka = kafka_factory(session_timeout_ms=SESSION_TIMEOUT_MS)
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
            assert_exactly_once(
                kafka, reader, expected_offers(count, run, PEOPLE), 180, workers=[survivor]
            )
        finally:
            survivor.stop()
    finally:
        feeder.join()
    assert feeding_done.is_set()


def shared_partitions(
    kafka_factory: Callable[..., KafkaSettings], name: str
) -> tuple[KafkaSettings, Topics, str, str]:
    """Four partitions for two workers of one app to share, and the people to offer."""
    kafka = kafka_factory(partitions=4, session_timeout_ms=SESSION_TIMEOUT_MS)
    load_people(kafka)
    run = uuid.uuid4().hex[:6]
    return kafka, Topics(kafka.topic_prefix), run, f"{name}-{run}"


def test_the_surviving_worker_takes_over_the_partitions_of_a_killed_one(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka, topics, run, app_id = shared_partitions(kafka_factory, "pair")
    first = WorkerProcess(kafka, app_id, tmp_path)
    second = WorkerProcess(kafka, app_id, tmp_path)
    with ThreadPoolExecutor(2) as starting:  # both join one group: no need to take turns
        for started in [starting.submit(worker.start) for worker in (first, second)]:
            started.result()
    reader = email_reader(kafka)
    try:
        produce(kafka, topics.incident_reports, [native_report(n, run, PEOPLE) for n in range(500)])
        reader.poll_until(lambda messages: len(messages) >= 100, timeout=60)
        second.wait_metric('psb_reports_total{outcome="signal"}', 1)  # it has work to hand over
        second.kill()
        produce(
            kafka,
            topics.incident_reports,
            [native_report(n, run, PEOPLE) for n in range(500, 1000)],
        )
        assert_exactly_once(kafka, reader, expected_offers(1000, run, PEOPLE), 180, workers=[first])
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
        assert_exactly_once(
            kafka, reader, expected_offers(1600, run, PEOPLE), 180, workers=[second]
        )
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


FENCE_ADDRESS = "fence@sykehus.example"


def sink_fence(kafka: KafkaSettings, smtp: SmtpReceiver, timeout: float = 60) -> set[str]:
    """A notification onto every partition of the email topic, behind everything the worker
    wrote, and the wait until each reaches the SMTP server: the sink delivers a partition in
    order, so by then every record before was delivered, and sent again if a kill made it.
    Returns the fence's Message-IDs."""
    topic = Topics(kafka.topic_prefix).notifications(Channel.EMAIL)
    fence: set[str] = set()
    for partition in range(partition_counts(kafka, [topic])[topic]):
        note = notification(Channel.EMAIL, address=FENCE_ADDRESS)
        produce_to(kafka, topic, partition, [note.model_dump_json().encode()])
        fence.add(message_id(note.notification_id, SENDER))
    deadline = time.monotonic() + timeout
    while not fence <= {str(m["Message-ID"]) for m in list(smtp.messages)}:
        assert time.monotonic() < deadline, "the sink's fence never reached the SMTP server"
        time.sleep(0.1)
    return fence


def test_killing_worker_and_email_sink_at_random_loses_no_offer_and_repeats_one_at_most(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    """A person's view: while reports flow, the email sink is SIGKILLed three times and the
    worker once, each at a random moment while messages are arriving. Every offer reaches
    the SMTP server for the right person; a message seen twice is a resend under the same
    Message-ID (the idempotency key), at most one per sink kill."""
    kafka = kafka_factory(session_timeout_ms=SESSION_TIMEOUT_MS)
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
            ids, everyone = assert_exactly_once(kafka, reader, expected, 60, workers=[worker])
            wanted = {message_id(ids[offer], SENDER): ref for offer, ref in everyone.items()}
            assert len(wanted) == len(everyone)  # one key per offer
            fence = sink_fence(kafka, smtp)
            arrived = {str(m["Message-ID"]) for m in list(smtp.messages)}
            assert wanted.keys() <= arrived, "offers never reached the SMTP server"
        finally:
            feeder.join()
            worker.stop()
            sink.stop()
    received = Counter(str(m["Message-ID"]) for m in smtp.messages if m["To"] != FENCE_ADDRESS)
    assert fence <= {str(m["Message-ID"]) for m in smtp.messages}
    assert set(received) == set(wanted), "a message arrived that no offer asked for"
    for message in smtp.messages:  # each went to the person its offer is for
        if message["To"] == FENCE_ADDRESS:
            continue
        person = wanted[str(message["Message-ID"])].removeprefix("emp-")
        assert message["To"] == f"p{person}@sykehus.example"
    repeats = sum(received.values()) - len(received)
    sink_kills = kills.count("sink")
    assert repeats <= sink_kills, f"{repeats} messages repeated after {sink_kills} sink kills"
