"""Reading topics from their first record to their last, without a consumer group.

The end is each partition's end-of-partition event, not a count from the high watermark:
Tansu 0.6 can report the watermark of a multi-record batch as its base offset + 1, and a
count from it would stop short. Reading always starts at a partition's beginning, a batch
boundary, so Tansu's skipping of a batch fetched from its middle does not arise.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from runtime.kafka import BrokerUnavailable, confluent_config, unreachable
from runtime.settings import KafkaSettings


def existing_topics(kafka: KafkaSettings) -> set[str]:
    consumer = Consumer(_reader_config(kafka))
    try:
        return set(consumer.list_topics(timeout=kafka.connect_timeout_s).topics)
    finally:
        consumer.close()


def read_to_end(kafka: KafkaSettings, topics: Iterable[str]) -> Iterator[Message]:
    """Every record of ``topics`` (those that exist), partition by partition in order.

    Raises ``KafkaException`` on a broker error and :class:`BrokerUnavailable` when the
    broker stays silent for ``connect_timeout_s``.
    """
    consumer = Consumer(_reader_config(kafka))
    try:
        metadata = consumer.list_topics(timeout=kafka.connect_timeout_s)
        assigned = [
            TopicPartition(name, number, OFFSET_BEGINNING)
            for name in sorted(set(topics))
            if name in metadata.topics
            for number in sorted(metadata.topics[name].partitions)
        ]
        pending = {(part.topic, part.partition) for part in assigned}
        if not pending:
            return
        consumer.assign(assigned)
        heard = time.monotonic()
        while pending:
            message = consumer.poll(0.5)
            if message is None:
                if time.monotonic() - heard > kafka.connect_timeout_s:
                    raise BrokerUnavailable(unreachable(kafka, "reading stopped"))
                continue
            heard = time.monotonic()
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:  # noqa: SLF001 - librdkafka names it so
                    pending.discard((message.topic() or "", message.partition() or 0))
                    continue
                raise KafkaException(error)
            yield message
    finally:
        consumer.close()


def _reader_config(kafka: KafkaSettings) -> dict[str, object]:
    return confluent_config(
        kafka,
        **{
            "group.id": f"psb-dead-letters-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            # an empty fetch answers at once: the end is reached in one round trip, not
            # after the broker's default wait of half a second per fetch
            "fetch.wait.max.ms": 20,
        },
    )
