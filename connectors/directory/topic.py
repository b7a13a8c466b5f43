"""Reading a compacted directory topic as it stands, and writing entries and tombstones.

Both the file loader and the LDAP sync need "who is there now": to tombstone people who
are no longer in the source, and (LDAP) to emit only what changed. The topic is its own
source of truth, so it is read from the beginning, latest value per key, without a
consumer group.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from runtime.kafka import confluent_config, producer_config, translate
from runtime.settings import KafkaSettings


class DirectoryTopicError(Exception):
    """The topic could not be read or written (broker unreachable, topic missing)."""


def read_latest(kafka: KafkaSettings, topic: str, timeout: float = 30.0) -> dict[str, bytes]:
    """Every key that currently has a value (a tombstone's key is absent), with its value."""
    consumer = Consumer(
        confluent_config(
            kafka,
            **{
                "group.id": f"directory-reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                # a broker that holds an empty fetch for the whole wait (the embedded one)
                # would make reading each empty partition take the default 500 ms
                "fetch.wait.max.ms": 20,
            },
        )
    )
    try:
        try:
            metadata = consumer.list_topics(topic, timeout=min(timeout, kafka.connect_timeout_s))
        except KafkaException as exc:
            raise DirectoryTopicError(str(translate(kafka, exc))) from None
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise DirectoryTopicError(
                f"topic {topic} does not exist (`peer-support topics create` makes it)"
            )
        partitions = sorted(found.partitions)
        consumer.assign([TopicPartition(topic, number, OFFSET_BEGINNING) for number in partitions])
        latest: dict[str, bytes | None] = {}
        at_end: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(at_end) < len(partitions):
            if time.monotonic() > deadline:
                raise DirectoryTopicError(f"timed out reading {topic}")
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:  # noqa: SLF001 - librdkafka names it so
                    at_end.add(message.partition() or 0)
                    continue
                raise DirectoryTopicError(f"cannot read {topic}: {error.name()}")
            at_end.discard(message.partition() or 0)
            key = message.key()
            if key is not None:
                latest[key.decode("utf-8", errors="replace")] = message.value()
        return {key: value for key, value in latest.items() if value is not None}
    finally:
        consumer.close()


def publish(
    kafka: KafkaSettings,
    topic: str,
    upserts: Iterable[tuple[str, bytes]],
    removals: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
    timeout: float = 60.0,
) -> int:
    """Write entries and tombstones keyed by staff reference; returns how many were
    acknowledged (``progress`` counts the entries). Raises :class:`DirectoryTopicError`
    when any was not."""
    producer = Producer(producer_config(kafka))
    failures: list[str] = []

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(error.name())

    count = 0
    records: list[tuple[str, bytes | None]] = [*upserts, *((key, None) for key in removals)]
    for key, value in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=delivered)
                break
            except BufferError:  # local queue full: let deliveries drain
                producer.poll(0.5)
        producer.poll(0)
        count += 1
        if progress is not None and value is not None:
            progress(1)
    if producer.flush(timeout) != 0:
        raise DirectoryTopicError(f"records to {topic} were not acknowledged in time")
    if failures:
        raise DirectoryTopicError(f"{len(failures)} records to {topic} failed: {failures[0]}")
    return count
