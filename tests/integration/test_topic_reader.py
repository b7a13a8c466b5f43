"""The one reader of topics to their end, against the test broker: a partition whose last
batch holds many records (Tansu lists its watermark short), one with a transaction marker,
an empty one, tombstones, a missing topic, a deadline, and a follower."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Producer

from runtime.kafka import producer_config
from runtime.settings import KafkaSettings
from runtime.topic_reader import ReadTimedOut, TopicMissing, follow, latest_values, read_to_end
from runtime.topics import TopicSpec, ensure_topics

UNREADABLE = b"\xff not json"


@pytest.fixture(scope="module")
def kafka(broker: str) -> KafkaSettings:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    return KafkaSettings(bootstrap_servers=broker, topic_prefix=prefix, partitions=3)


def create(kafka: KafkaSettings, name: str) -> str:
    ensure_topics(kafka, [TopicSpec(name, compacted=True)])
    return name


@pytest.fixture(scope="module")
def compacted(kafka: KafkaSettings) -> str:
    """Partition 0: one batch of ten records, the last of key k1 a tombstone; partition 1: three
    records in a transaction, then its commit marker; partition 2: nothing."""
    topic = create(kafka, f"{kafka.topic_prefix}compacted")
    batched = Producer(producer_config(kafka, **{"linger.ms": 200}))
    for number in range(10):
        value = None if number == 7 else UNREADABLE if number == 9 else f"v{number}"
        batched.produce(topic, key=f"k{number % 3}", value=value, partition=0)
    assert batched.flush(30) == 0
    transactional = Producer(producer_config(kafka, **{"transactional.id": topic}))
    transactional.init_transactions(30)
    transactional.begin_transaction()
    for number in range(3):
        transactional.produce(topic, key=f"t{number}", value=f"w{number}", partition=1)
    transactional.commit_transaction(30)
    return topic


def test_every_record_is_read_to_the_end_at_once(kafka: KafkaSettings, compacted: str) -> None:
    started = time.monotonic()
    records = [(m.partition(), m.key(), m.value()) for m in read_to_end(kafka, [compacted])]
    assert time.monotonic() - started < 3  # the end is each partition's event, not a wait
    assert len(records) == 13
    assert (0, b"k1", None) in records
    assert (0, b"k0", UNREADABLE) in records  # handed over as it is: the caller judges it


def test_latest_values_leave_out_what_a_tombstone_removed(
    kafka: KafkaSettings, compacted: str
) -> None:
    assert latest_values(kafka, compacted) == {
        "k0": UNREADABLE,
        "k2": b"v8",
        "t0": b"w0",
        "t1": b"w1",
        "t2": b"w2",
    }


def test_a_missing_topic_is_skipped_or_named(kafka: KafkaSettings, compacted: str) -> None:
    absent = f"{kafka.topic_prefix}absent"
    assert len(list(read_to_end(kafka, [absent, compacted]))) == 13
    with pytest.raises(TopicMissing, match=f"topic {absent} does not exist.*topics create"):
        latest_values(kafka, absent)


def test_a_reading_past_its_time_ends_in_one_error_without_records(
    kafka: KafkaSettings, compacted: str
) -> None:
    with pytest.raises(ReadTimedOut) as raised:
        latest_values(kafka, compacted, timeout_s=0)
    assert str(raised.value) == f"{compacted} not read to the end within 0 s"


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def test_a_follower_waits_for_its_topic_then_tails_it(
    kafka: KafkaSettings, stop: threading.Event
) -> None:
    topic = f"{kafka.topic_prefix}followed"
    caught_up = threading.Event()
    seen: list[bytes] = []

    def run() -> None:
        for message in follow(kafka, [topic], stop, caught_up.set):
            seen.append(message.value() or b"")

    reader = threading.Thread(target=run)
    reader.start()
    time.sleep(0.2)  # the follower starts before the topic exists
    producer = Producer(producer_config(kafka))
    producer.produce(create(kafka, topic), key="a", value="before", partition=0)
    assert producer.flush(30) == 0
    assert caught_up.wait(30)
    producer.produce(topic, key="a", value="after", partition=1)
    assert producer.flush(30) == 0
    deadline = time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    reader.join(5)
    assert not reader.is_alive()
    assert sorted(seen) == [b"after", b"before"]
