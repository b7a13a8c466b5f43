"""What the answers endpoint must know to honour a click: which offers exist (and whose
they are), and which answers were already recorded.

Both are read from the topics themselves (``support-offers`` and ``support-responses``),
from the beginning and then tailed, without a consumer group, so every replica of the
endpoint knows every answer, including those recorded before it started. This is what makes
a second click, or a click on another replica a minute later, record nothing new. (Two
replicas racing within milliseconds could both record one answer; the worker therefore also
handles each offer's answer once, keyed by offer id.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from runtime.kafka import aiokafka_options
from runtime.logging import get_logger
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import SupportOffer, SupportResponse
from schemas.response import Answer

log = get_logger("answers")


class KnownAnswers:
    def __init__(self) -> None:
        self.offers: dict[str, str] = {}  # offer id -> the person (staff pseudonym)
        self.answered: set[tuple[str, Answer]] = set()
        self.ready = asyncio.Event()

    def owner(self, offer_id: str) -> str | None:
        return self.offers.get(offer_id)

    def is_recorded(self, offer_id: str, answer: Answer) -> bool:
        return (offer_id, answer) in self.answered

    def record(self, response: SupportResponse) -> None:
        self.answered.add((response.offer_id, response.answer))

    def apply(self, topic: str, value: bytes | None, topics: Topics) -> None:
        if value is None:
            return
        try:
            if topic == topics.support_offers:
                offer = SupportOffer.model_validate_json(value)
                self.offers[offer.offer_id] = offer.person
            else:
                self.record(SupportResponse.model_validate_json(value))
        except ValidationError:
            log.warning("invalid record skipped", topic=topic)

    async def follow(self, kafka: KafkaSettings) -> None:
        """Read both topics from the beginning, set ``ready`` once caught up, keep tailing."""
        topics = Topics(kafka.topic_prefix)
        names = (topics.support_offers, topics.support_responses)
        consumer = AIOKafkaConsumer(
            **aiokafka_options(kafka), enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            partitions = await _partitions(consumer, names)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            targets = await consumer.end_offsets(partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for partition, records in batches.items():
                    for record in records:
                        self.apply(partition.topic, record.value, topics)
                if not self.ready.is_set() and await _caught_up(consumer, targets):
                    self.ready.set()
                    log.info("answers known", count=len(self.answered))
        finally:
            await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, names: Iterable[str]) -> list[TopicPartition]:
    while True:
        found = [
            TopicPartition(name, number)
            for name in names
            for number in sorted(consumer.partitions_for_topic(name) or ())
        ]
        if {partition.topic for partition in found} == set(names):
            return found
        await consumer.topics()
        await asyncio.sleep(0.5)


async def _caught_up(consumer: AIOKafkaConsumer, targets: dict[TopicPartition, int]) -> bool:
    for partition, end in targets.items():
        if await consumer.position(partition) < end:
            return False
    return True
