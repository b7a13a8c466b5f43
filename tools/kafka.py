"""Producing and reading records in tests, one record per batch.

Tansu 0.6 skips a batch when a consumer's fetch offset falls inside it; writing one
record per batch keeps tests measuring our code rather than that broker bug.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from runtime.kafka import confluent_config, producer_config
from runtime.settings import KafkaSettings


def produce(
    kafka: KafkaSettings,
    topic: str,
    values: Iterable[bytes | str | None],
    key: bytes | str | None = None,
) -> int:
    producer = Producer(producer_config(kafka, **{"batch.num.messages": 1, "linger.ms": 0}))
    count = 0
    for value in values:
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
        count += 1
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} records were not acknowledged"
    return count


def produce_keyed(
    kafka: KafkaSettings, topic: str, records: Iterable[tuple[str, str | None]]
) -> int:
    producer = Producer(producer_config(kafka, **{"batch.num.messages": 1, "linger.ms": 0}))
    count = 0
    for key, value in records:
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
        count += 1
    assert producer.flush(30) == 0
    return count


def produce_to(kafka: KafkaSettings, topic: str, partition: int, values: Iterable[bytes]) -> int:
    """Like :func:`produce`, onto one partition chosen by the caller: a test that must reach
    every partition (a fence) does not leave it to a partitioner."""
    producer = Producer(producer_config(kafka, **{"batch.num.messages": 1, "linger.ms": 0}))
    count = 0
    for value in values:
        producer.produce(topic, value=value, partition=partition)
        producer.poll(0)
        count += 1
    assert producer.flush(30) == 0
    return count


def partition_counts(kafka: KafkaSettings, topics: Iterable[str]) -> dict[str, int]:
    metadata = AdminClient(confluent_config(kafka)).list_topics(timeout=10)
    return {name: len(metadata.topics[name].partitions) for name in topics}


class TopicReader:
    """Reads topics from the beginning, without a consumer group, and keeps what it saw."""

    def __init__(self, kafka: KafkaSettings, topics: Iterable[str]) -> None:
        self._config = confluent_config(
            kafka,
            **{
                "group.id": f"reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,  # read_to_end's signal; _read skips it
            },
        )
        self._consumer = Consumer(self._config)
        metadata = self._consumer.list_topics(timeout=10)
        self._consumer.assign(
            [
                TopicPartition(name, number, OFFSET_BEGINNING)
                for name in topics
                for number in metadata.topics[name].partitions
            ]
        )
        self.messages: list[Message] = []
        self._next: dict[tuple[str, int], int] = {}
        """Per partition, the offset after the last record kept: each is kept once."""

    def poll_until(
        self, done: Callable[[list[Message]], bool], timeout: float = 60.0, idle: float = 0.0
    ) -> list[Message]:
        """Read until ``done(messages)`` holds (then ``idle`` more seconds), or time out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(self.messages):
            self._read(0.2)
        if idle:
            quiet_until = time.monotonic() + idle
            while time.monotonic() < quiet_until:
                self._read(0.2)
        return self.messages

    def drain(self, idle: float = 2.0) -> list[Message]:
        """Read until nothing new arrives for ``idle`` seconds."""
        last = time.monotonic()
        while time.monotonic() - last < idle:
            if self._read(0.2):
                last = time.monotonic()
        return self.messages

    def read_to_end(self, timeout: float = 30.0) -> list[Message]:
        """Read each partition to its end as it stands now: whatever a producer had
        acknowledged before the call is then in ``messages``. Proves that nothing arrived
        without waiting to see whether something does.

        The end is librdkafka's end-of-partition event, of a consumer that starts now from
        the beginning (a batch boundary: Tansu 0.6 skips a batch fetched from its middle);
        not a watermark listed first, which Tansu gives for a multi-record batch as its first
        offset + 1."""
        # an empty fetch answers at once: Tansu holds one for the whole wait
        fresh = Consumer({**self._config, "fetch.wait.max.ms": 20})
        assigned = self._consumer.assignment()
        fresh.assign([TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING) for tp in assigned])
        pending = {(tp.topic, tp.partition) for tp in assigned}
        deadline = time.monotonic() + timeout
        try:
            while pending:
                assert time.monotonic() < deadline, f"no end reached of {sorted(pending)}"
                for message in fresh.consume(1000, 0.2):
                    error = message.error()
                    if error is None:
                        self._keep(message)
                    elif error.code() == KafkaError._PARTITION_EOF:
                        pending.discard((message.topic(), message.partition()))
        finally:
            fresh.close()
        return self.messages

    def _read(self, timeout: float) -> bool:
        """Take what has arrived, up to a batch, so ``done`` is asked once per batch and not
        once per record (it may look at every record seen so far)."""
        kept = [m for m in self._consumer.consume(1000, timeout) if m.error() is None]
        return sum(self._keep(message) for message in kept) > 0

    def _keep(self, message: Message) -> bool:
        where, offset = (message.topic() or "", message.partition() or 0), message.offset() or 0
        if offset < self._next.get(where, 0):
            return False  # read_to_end read it already
        self._next[where] = offset + 1
        self.messages.append(message)
        return True

    def values(self, topic: str | None = None) -> list[bytes]:
        return [
            message.value() or b""
            for message in self.messages
            if topic is None or message.topic() == topic
        ]

    def close(self) -> None:
        self._consumer.close()


def records(kafka: KafkaSettings, *prefixes: str, skip: tuple[str, ...] = ()) -> str:
    """Keys and values of every record on the topics whose names start with ``prefixes``
    (but ``skip``), as text: what a test searches for something that must not be there."""
    names = [
        name
        for name in AdminClient(confluent_config(kafka)).list_topics(timeout=10).topics
        if name.startswith(prefixes) and name not in skip
    ]
    reader = TopicReader(kafka, names)
    try:
        messages = reader.drain(idle=2.0)
    finally:
        reader.close()
    return "\n".join(
        f"{(m.key() or b'').decode(errors='replace')} {(m.value() or b'').decode(errors='replace')}"
        for m in messages
    )
