"""Reading a compacted directory topic as it stands, and writing entries and tombstones.

Both the file loader and the LDAP sync need "who is there now": to tombstone people who
are no longer in the source, and (LDAP) to emit only what changed. The topic is its own
source of truth, so it is read from the beginning, latest value per key, without a
consumer group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from confluent_kafka import KafkaError, Message, Producer

from runtime.kafka import BrokerRefused, BrokerUnavailable, producer_config
from runtime.settings import KafkaSettings
from runtime.topic_reader import latest_values


class DirectoryTopicError(Exception):
    """The topic could not be read or written (broker unreachable, topic missing)."""


def read_latest(kafka: KafkaSettings, topic: str, timeout: float = 30.0) -> dict[str, bytes]:
    """Every key that currently has a value (a tombstone's key is absent), with its value."""
    try:
        return latest_values(kafka, topic, timeout_s=timeout)
    except (BrokerUnavailable, BrokerRefused) as exc:
        raise DirectoryTopicError(str(exc)) from None


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
