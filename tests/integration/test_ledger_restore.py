"""What the outbox writes to a table's changelog is all there when Faust restores the table.

Faust restores a table by reading its changelog up to the broker's high watermark, so the
watermark has to count every record the outbox sent. The embedded broker reports it as the
first offset of the last record batch + 1, which the outbox allows for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace

from aiokafka import AIOKafkaProducer
from confluent_kafka import Consumer, TopicPartition

from runtime.kafka import aiokafka_options, consumer_config
from runtime.settings import KafkaSettings
from runtime.topics import TopicSpec, ensure_topics
from streams.faust_fixes import Outbox
from tests.support.outbox_broker import App


def high_watermarks(kafka: KafkaSettings, topic: str) -> list[int]:
    consumer = Consumer(consumer_config(kafka, "watermarks"))
    try:
        return [
            consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=10)[1]
            for number in range(kafka.partitions)
        ]
    finally:
        consumer.close()


def test_the_high_watermark_counts_every_ledger_record_a_commit_sends(
    kafka_factory: Callable[..., KafkaSettings],
) -> None:
    kafka = kafka_factory(partitions=2)
    topic = f"{kafka.topic_prefix}.handoffs-made-changelog"
    ensure_topics(kafka, [TopicSpec(topic, compacted=True)])
    table = SimpleNamespace(
        name="handoffs-made", changelog_topic=SimpleNamespace(get_topic_name=lambda: topic)
    )

    async def commit_twice() -> None:
        producer = AIOKafkaProducer(**aiokafka_options(kafka), acks="all")
        await producer.start()
        try:
            box = Outbox(App(producer), last_record_alone=True)  # type: ignore[arg-type]
            for first in (0, 5):  # two commits, each with five entries in partition 0
                for number in range(first, first + 5):
                    box.put_changelog(table, 0, f"off_{number}", "handed off")
                box.put_changelog(table, 1, f"off_{first}", "handed off")
                await box.flush()
                await box.settle()
        finally:
            await producer.stop()

    asyncio.run(commit_twice())
    assert high_watermarks(kafka, topic) == [10, 2]
