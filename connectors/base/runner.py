"""The consume loop every sink runs: read a notification, deliver it, record it, then commit.

Offsets are committed by hand, one record at a time, only after the outcome is recorded on
``notification-receipts``. A transient failure is retried in place (with back-off, the
partitions paused so the consumer stays in its group), so an outage delays notifications and
keeps their order but loses none. A permanent failure is dead-lettered at once, with routing
metadata only. Before sending, the runner looks the notification up in the receipts it read at
start-up and those it wrote since: a crash after a send and before the commit redelivers the
record, and the receipt keeps it from being sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from connectors.base.delivery import DeliverySettings, TokenBucket, backoff_s, load_delivered
from connectors.base.exceptions import (
    ConnectorError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from connectors.base.metrics import SinkMetrics
from connectors.base.sink import Sink
from runtime import tracing
from runtime.clock import utc_now
from runtime.kafka import consumer_config, producer_config
from runtime.logging import get_logger
from runtime.metrics import ConsumerLag, Lag
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import (
    Channel,
    DeadLetter,
    DeliveryReason,
    DeliveryReceipt,
    Notification,
    Outcome,
    Reason,
)

log = get_logger("sink")

KEEPALIVE_S = 0.5
"""How often a paused consumer is polled while it waits to retry, to stay in its group."""


def dead_letter(message: Message, reason: Reason, notification_id: str | None = None) -> DeadLetter:
    return DeadLetter(
        source_topic=message.topic() or "unknown",
        partition=max(message.partition() or 0, 0),
        offset=max(message.offset() or 0, 0),
        reason=reason,
        notification_id=notification_id,
        recorded_at=utc_now(),
    )


def reason_of(error: ConnectorError) -> DeliveryReason:
    try:
        return DeliveryReason(error.reason)
    except ValueError:
        return DeliveryReason.UNEXPECTED


class SinkRunner:
    def __init__(
        self,
        sink: Sink,
        kafka: KafkaSettings,
        topics: Sequence[str],
        group_id: str,
        settings: DeliverySettings | None = None,
        channel: Channel | None = None,
        metrics: SinkMetrics | None = None,
    ) -> None:
        self.sink = sink
        self.metrics = metrics or SinkMetrics()
        self.topics = list(topics)
        self.settings = settings or DeliverySettings()
        self.kafka = kafka
        self.receipts_topic = Topics(kafka.topic_prefix).notification_receipts
        self._consumer = Consumer(consumer_config(kafka, group_id))
        self._producer = Producer(
            producer_config(kafka, **{"batch.num.messages": 1, "linger.ms": 0})
        )
        self.channel = channel
        self.limiter = TokenBucket(self.settings.rate_for(channel), self.settings.rate_burst)
        self.done: set[str] = set()
        """Notifications delivered or refused for good: never sent again."""
        self.handled = 0
        self.ready = False
        self._assignments = 0
        self._stale = False
        self.consumer_name = f"sink-{channel.value}" if channel else "sink"
        self._unfinished: dict[tuple[str, int], int] = {}
        """Per partition, the first offset not yet committed, as far as this process knows."""
        self.metrics.registry.register(ConsumerLag(self.lag))

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """After a rebalance, partitions may come from a replica that sent and died before
        committing: read the receipts again before the next send (the first assignment
        follows the read at start-up)."""
        self._assignments += 1
        self._stale = self._assignments > 1
        for tp in partitions:  # another replica may have moved them on meanwhile
            self._unfinished.pop((tp.topic, tp.partition), None)

    def lag(self) -> Iterator[Lag]:
        """Records not yet done on each held partition: the end offset the last fetch
        brought (no request of its own) minus the first offset not yet committed, the
        record being delivered or retried included."""
        assigned = self._consumer.assignment()
        for tp in self._consumer.position(assigned) if assigned else []:
            watermarks = self._consumer.get_watermark_offsets(tp, cached=True)
            done = self._unfinished.get((tp.topic, tp.partition), tp.offset)
            if watermarks is None or watermarks[1] < 0 or done < 0:
                continue  # not fetched yet: unknown rather than wrong
            yield Lag(self.consumer_name, tp.topic, watermarks[1] - done)

    async def _load_receipts(self) -> None:
        found = await asyncio.to_thread(
            load_delivered, self.kafka, self.receipts_topic, self.settings.receipts_timeout_s
        )
        self.done |= found
        log.info("receipts read", topic=self.receipts_topic, count=len(found))

    async def run(self, stop: asyncio.Event) -> None:
        tracing.setup(
            f"peer-support-sink-{self.channel.value}" if self.channel else "peer-support-sink"
        )
        await self.sink.setup()
        try:
            await self._load_receipts()
            self._consumer.subscribe(self.topics, on_assign=self._on_assign)
            self.ready = True
            while not stop.is_set():
                message = await asyncio.to_thread(self._consumer.poll, 0.2)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:  # noqa: SLF001 - public constant
                        log.warning("consumer error", reason=error.name())
                    continue
                self._unfinished[(message.topic() or "", message.partition() or 0)] = (
                    message.offset() or 0
                )
                if self._stale:
                    self._stale = False
                    await self._load_receipts()
                if not await self._handle(message, stop):
                    break  # stopped while waiting to retry: the record stays uncommitted
                self._commit(message)
                self.handled += 1
        finally:
            self.ready = False
            self._consumer.close()
            self._producer.flush(10)
            await self.sink.close()

    def _commit(self, message: Message) -> None:
        try:
            self._consumer.commit(message=message, asynchronous=False)
        except KafkaException as exc:  # e.g. the partition moved on during a long retry
            log.warning("commit failed", topic=message.topic(), reason=exc.args[0].name())
        else:
            self._unfinished[(message.topic() or "", message.partition() or 0)] = (
                message.offset() or 0
            ) + 1

    async def _handle(self, message: Message, stop: asyncio.Event) -> bool:
        """Deliver one record; ``True`` when its outcome is recorded and it may be committed.
        In a span continuing the worker's, the incident named in every log line."""
        try:
            notification = Notification.model_validate_json(message.value() or b"")
        except ValidationError:
            self._dead_letter(message, Reason.INVALID)
            return True
        headers = message.headers()
        attributes = {
            **tracing.consumed(
                message.topic() or "",
                incident=tracing.incident_of(headers),
                offer=notification.offer_id,
                notification=notification.notification_id,
            ),
            "psb.channel": notification.channel.value,
            "psb.kind": notification.kind.value,
        }
        with tracing.step("deliver", attributes, headers=headers, kind=SpanKind.CONSUMER):
            return await self._deliver(message, notification, stop)

    async def _deliver(
        self, message: Message, notification: Notification, stop: asyncio.Event
    ) -> bool:
        if notification.notification_id in self.done:
            self.metrics.skipped.labels(notification.channel.value).inc()
            log.info(
                "already delivered, not sent again",
                notification_id=notification.notification_id,
                channel=notification.channel.value,
            )
            return True
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.acquire()
            try:
                await self.sink.deliver(notification)
            except PermanentDeliveryError as exc:
                self._refused(message, notification, attempt, reason_of(exc), exc.status)
                return True
            except TransientDeliveryError as exc:
                limit = self.settings.retry_max_attempts
                if limit and attempt >= limit:
                    self._refused(
                        message, notification, attempt, DeliveryReason.RETRIES_EXHAUSTED, exc.status
                    )
                    return True
                wait = self._retry(
                    notification, attempt, reason_of(exc), exc.status, exc.retry_after
                )
            except Exception as exc:  # a bug, not the channel: keep the record, try again
                log.error("delivery failed unexpectedly", exc_info=exc)
                wait = self._retry(notification, attempt, DeliveryReason.UNEXPECTED, None, None)
            else:
                self._record(notification, Outcome.DELIVERED, attempt)
                self.done.add(notification.notification_id)
                tracing.annotate({"psb.attempt": attempt})
                log.info(
                    "delivered",
                    notification_id=notification.notification_id,
                    channel=notification.channel.value,
                    kind=notification.kind.value,
                    attempt=attempt,
                )
                return True
            if not await self._wait(wait, stop):
                return False

    def _retry(
        self,
        notification: Notification,
        attempt: int,
        reason: DeliveryReason,
        status: int | None,
        retry_after: float | None,
    ) -> float:
        wait = backoff_s(
            attempt, self.settings.retry_initial_s, self.settings.retry_max_s, retry_after
        )
        self._record(notification, Outcome.RETRYING, attempt, reason, status, wait)
        tracing.annotate({"psb.reason": reason.value, "psb.attempt": attempt})
        log.warning(
            "delivery failed, will retry",
            notification_id=notification.notification_id,
            channel=notification.channel.value,
            reason=reason.value,
            status=status,
            attempt=attempt,
            delay_s=round(wait, 3),
        )
        return wait

    def _refused(
        self,
        message: Message,
        notification: Notification,
        attempt: int,
        reason: DeliveryReason,
        status: int | None,
    ) -> None:
        self._record(notification, Outcome.FAILED_PERMANENTLY, attempt, reason, status)
        tracing.annotate({"psb.reason": reason.value, "psb.attempt": attempt})
        self._dead_letter(message, Reason.REFUSED, notification.notification_id)
        self.done.add(notification.notification_id)
        log.warning(
            "delivery refused",
            notification_id=notification.notification_id,
            channel=notification.channel.value,
            reason=reason.value,
            status=status,
            attempt=attempt,
        )

    async def _wait(self, seconds: float, stop: asyncio.Event) -> bool:
        """Sleep ``seconds`` with the assignment paused, polling so the group keeps us;
        ``False`` if asked to stop meanwhile."""
        assignment = self._consumer.assignment()
        self._consumer.pause(assignment)
        try:
            deadline = time.monotonic() + seconds
            while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                with_timeout = min(left, KEEPALIVE_S)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=with_timeout)
                stray = await asyncio.to_thread(self._consumer.poll, 0)
                if stray is not None and stray.error() is None:
                    # should not happen while paused; put it back rather than lose it
                    topic, partition, offset = stray.topic(), stray.partition(), stray.offset()
                    if topic is not None and partition is not None and offset is not None:
                        self._consumer.seek(TopicPartition(topic, partition, offset))
        finally:
            self._consumer.resume(self._consumer.assignment())
        return not stop.is_set()

    def _record(
        self,
        notification: Notification,
        outcome: Outcome,
        attempt: int,
        reason: DeliveryReason | None = None,
        status: int | None = None,
        retry_in_s: float | None = None,
    ) -> None:
        self.metrics.attempts.labels(
            notification.channel.value, outcome.value, reason.value if reason else ""
        ).inc()
        receipt = DeliveryReceipt(
            notification_id=notification.notification_id,
            offer_id=notification.offer_id,
            kind=notification.kind,
            channel=notification.channel,
            outcome=outcome,
            attempt=attempt,
            reason=reason,
            status=status if status is not None and 100 <= status <= 999 else None,
            retry_in_s=round(retry_in_s, 3) if retry_in_s is not None else None,
            recorded_at=utc_now(),
        )
        self._produce(self.receipts_topic, receipt.model_dump_json(), notification.notification_id)

    def _dead_letter(
        self, message: Message, reason: Reason, notification_id: str | None = None
    ) -> None:
        letter = dead_letter(message, reason, notification_id)
        self._produce(Topics.dlq(letter.source_topic), letter.model_dump_json(), notification_id)

    def _produce(self, topic: str, value: str, key: str | None) -> None:
        self._producer.produce(topic, key=key, value=value.encode())
        if self._producer.flush(10):
            log.error("record not acknowledged by the broker", topic=topic)
