"""Reading topics from their first record to their end, without a consumer group.

The compacted topics are their own source of truth (the directory, the receipts, the
evaluation figures, the answers), and the commands that report on a topic read all of it;
each reads from the beginning, to the end as it stands, and some then go on following.

The end of a partition is librdkafka's end-of-partition event: the fetch reached the high
watermark the broker answered with. It is not a count from a watermark listed before
reading: Tansu 0.6 lists the watermark of a multi-record batch as its first offset + 1, and
a count from it would stop short. Offsets that hold no record (transaction markers,
compaction gaps) need no care: the event comes at the watermark all the same. Reading
always starts at a partition's beginning, a batch boundary, so Tansu's skipping of a batch
fetched from its middle does not arise.

Records are handed over as they are: what a value means, and what to do with one that
does not parse, is the caller's to decide. Errors name topics, never a record's content.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from typing import Final, Literal

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from runtime.kafka import BrokerRefused, BrokerUnavailable, confluent_config, translate, unreachable
from runtime.settings import KafkaSettings

Missing = Literal["skip", "fail", "wait"]
"""What to do about a topic that does not exist: read the others, raise
:class:`TopicMissing`, or wait until it is created."""

POLL_S: Final = 0.2
READ_FETCH_WAIT_MS: Final = 20
"""An empty fetch answers at once, so the end is reached in one round trip: the embedded
broker holds an empty fetch for the whole wait (librdkafka's default is half a second)."""
FOLLOW_FETCH_WAIT_MS: Final = 500
"""A follower fetches for as long as it runs: at rest, one round trip each wait. A broker
that holds a fetch for the whole wait though records came (the embedded one) shows a new
record this much later at most."""


class TopicMissing(BrokerRefused):
    """A topic to be read does not exist; the message says which command creates it."""


class ReadTimedOut(BrokerUnavailable):
    """The end was not reached in time: the broker went silent, or the caller's time ran
    out."""


def read_to_end(
    kafka: KafkaSettings,
    topics: Iterable[str],
    *,
    timeout_s: float | None = None,
    missing: Missing = "skip",
) -> Iterator[Message]:
    """Every record of ``topics``, tombstones included, in order within each partition.

    Raises :class:`ReadTimedOut` when the end is not reached within ``timeout_s`` (``None``:
    no limit) or the broker stays silent for ``connect_timeout_s``; ``BrokerUnavailable``
    or ``BrokerRefused`` when it does not answer or refuses.
    """
    with closing(Consumer(_reader_config(kafka, READ_FETCH_WAIT_MS))) as consumer:
        assigned = _assign(consumer, kafka, topics, missing, threading.Event())
        yield from _to_end(consumer, kafka, assigned, timeout_s, None)


def latest_values(
    kafka: KafkaSettings, topic: str, *, timeout_s: float | None = None, missing: Missing = "fail"
) -> dict[str, bytes]:
    """Every key that has a value now, with its last value, as compaction will leave it: a
    tombstone removes its key, and a record without a key is no entry."""
    latest: dict[str, bytes | None] = {}
    for message in read_to_end(kafka, [topic], timeout_s=timeout_s, missing=missing):
        key = message.key()
        if key is not None:
            latest[key.decode("utf-8", errors="replace")] = message.value()
    return {key: value for key, value in latest.items() if value is not None}


def follow(
    kafka: KafkaSettings,
    topics: Iterable[str],
    stop: threading.Event,
    caught_up: Callable[[], None],
) -> Iterator[Message]:
    """Every record of ``topics`` (waiting until they exist), calling ``caught_up`` once
    the end is reached, then each new record as it comes, until ``stop`` is set.

    Blocking: an asyncio caller runs it in a thread and sets ``stop`` when cancelled.
    """
    with closing(Consumer(_reader_config(kafka, FOLLOW_FETCH_WAIT_MS))) as consumer:
        assigned = _assign(consumer, kafka, topics, "wait", stop)
        yield from _to_end(consumer, kafka, assigned, None, stop)
        if stop.is_set():
            return
        caught_up()
        while not stop.is_set():
            message = consumer.poll(POLL_S)
            if message is None:
                continue
            if message.error() is None:
                yield message
            else:
                _tolerate(kafka, message)


def _assign(
    consumer: Consumer,
    kafka: KafkaSettings,
    topics: Iterable[str],
    missing: Missing,
    stop: threading.Event,
) -> list[TopicPartition]:
    names = sorted(set(topics))
    while True:
        try:
            metadata = consumer.list_topics(timeout=kafka.connect_timeout_s)
        except KafkaException as exc:
            raise translate(kafka, exc) from None
        partitions = {
            name: sorted(found.partitions)
            for name in names
            if (found := metadata.topics.get(name)) is not None
            and found.error is None
            and found.partitions
        }
        absent = [name for name in names if name not in partitions]
        if not absent or missing == "skip":
            break
        if missing == "fail":
            raise TopicMissing(
                f"topic {absent[0]} does not exist (`peer-support topics create` makes it)"
            )
        if stop.wait(0.5):
            return []
    assigned = [
        TopicPartition(name, number, OFFSET_BEGINNING)
        for name, numbers in partitions.items()
        for number in numbers
    ]
    if assigned:
        consumer.assign(assigned)
    return assigned


def _to_end(
    consumer: Consumer,
    kafka: KafkaSettings,
    assigned: list[TopicPartition],
    timeout_s: float | None,
    stop: threading.Event | None,
) -> Iterator[Message]:
    """Records until every assigned partition has reported its end (records that arrive
    meanwhile on a partition already at its end come too)."""
    pending = {(part.topic, part.partition) for part in assigned}
    started = heard = time.monotonic()
    while pending and not (stop is not None and stop.is_set()):
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            names = ", ".join(sorted({topic for topic, _ in pending}))
            raise ReadTimedOut(f"{names} not read to the end within {timeout_s:g} s")
        message = consumer.poll(POLL_S)
        if message is not None and message.error() is None:
            yield message
            heard = time.monotonic()  # after the caller's own work with the record
        elif message is not None and _at_end(message):
            heard = time.monotonic()
            pending.discard((message.topic() or "", message.partition() or 0))
        else:
            if message is not None:
                _tolerate(kafka, message)
            if time.monotonic() - heard > kafka.connect_timeout_s:
                raise ReadTimedOut(unreachable(kafka, "reading stopped"))


def _at_end(message: Message) -> bool:
    error = message.error()
    return error is not None and error.code() == KafkaError._PARTITION_EOF  # noqa: SLF001 - librdkafka names it so


def _tolerate(kafka: KafkaSettings, message: Message) -> None:
    """A partition's end, or a broker that does not answer (librdkafka reconnects; the
    silence is timed), lets the reading go on; any other error ends it."""
    error = message.error()
    if error is None or _at_end(message):
        return
    translated = translate(kafka, KafkaException(error))
    if not isinstance(translated, BrokerUnavailable):
        raise translated


def _reader_config(kafka: KafkaSettings, fetch_wait_ms: int) -> dict[str, object]:
    return confluent_config(
        kafka,
        **{
            "group.id": f"psb-reader-{uuid.uuid4().hex}",  # never joined, never committed
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": fetch_wait_ms,
        },
    )
