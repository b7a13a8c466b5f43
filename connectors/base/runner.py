"""The consume loop every sink runs: read a notification, deliver it, then commit.

Offsets are committed by hand, one record at a time, only after the outcome is known, so a
crash between delivery and commit means a redelivery (which the idempotency key makes
harmless), never a loss.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from confluent_kafka import Consumer, KafkaError, Message, Producer
from pydantic import ValidationError

from connectors.base.exceptions import PermanentDeliveryError
from connectors.base.sink import Sink
from runtime.clock import utc_now
from runtime.kafka import consumer_config, producer_config
from runtime.logging import get_logger
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import DeadLetter, Notification, Reason

log = get_logger("sink")


def dead_letter(message: Message, reason: Reason) -> DeadLetter:
    return DeadLetter(
        source_topic=message.topic() or "unknown",
        partition=max(message.partition() or 0, 0),
        offset=max(message.offset() or 0, 0),
        reason=reason,
        recorded_at=utc_now(),
    )


class SinkRunner:
    def __init__(
        self, sink: Sink, kafka: KafkaSettings, topics: Sequence[str], group_id: str
    ) -> None:
        self.sink = sink
        self.topics = list(topics)
        self._consumer = Consumer(consumer_config(kafka, group_id))
        self._producer = Producer(producer_config(kafka))
        self.handled = 0

    async def run(self, stop: asyncio.Event) -> None:
        await self.sink.setup()
        self._consumer.subscribe(self.topics)
        try:
            while not stop.is_set():
                message = await asyncio.to_thread(self._consumer.poll, 0.2)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:  # noqa: SLF001 - public constant
                        log.warning("consumer error", reason=error.name())
                    continue
                await self._handle(message)
                self._consumer.commit(message=message, asynchronous=False)
                self.handled += 1
        finally:
            self._consumer.close()
            self._producer.flush(10)
            await self.sink.close()

    async def _handle(self, message: Message) -> None:
        try:
            notification = Notification.model_validate_json(message.value() or b"")
        except ValidationError:
            self._dead_letter(message, Reason.INVALID)
            return
        try:
            await self.sink.deliver(notification)
        except PermanentDeliveryError as exc:
            log.warning(
                "delivery refused", notification_id=notification.notification_id, reason=exc.reason
            )
            self._dead_letter(message, Reason.UNPROCESSABLE)

    def _dead_letter(self, message: Message, reason: Reason) -> None:
        letter = dead_letter(message, reason)
        self._producer.produce(Topics.dlq(letter.source_topic), letter.model_dump_json().encode())
        self._producer.flush(10)
