"""Producing signals and waiting for the broker's acknowledgement, from asyncio.

confluent-kafka reports delivery in a callback run by ``poll``; a thread polls, and each
callback resolves the asyncio future of its record. The HTTP handler answers 202 only after
its future says the record is stored (idempotent producer, ``acks=all``).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from opentelemetry.trace import SpanKind

from runtime import tracing
from runtime.kafka import producer_config
from runtime.logging import get_logger
from runtime.settings import KafkaSettings
from schemas.signal import IncidentSignal

log = get_logger("ingest-producer")


class BrokerUnavailable(Exception):
    """The record was not acknowledged in time; nothing may be reported as stored."""


class SignalProducer:
    def __init__(self, kafka: KafkaSettings, topic: str, delivery_timeout_ms: int) -> None:
        self.topic = topic
        self._producer = Producer(
            producer_config(
                kafka,
                **{
                    "message.timeout.ms": delivery_timeout_ms,
                    "request.timeout.ms": min(delivery_timeout_ms, 30_000),
                },
            )
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="ingest-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    async def send(self, signal: IncidentSignal) -> None:
        """Produce one signal; return once the broker has it, or raise BrokerUnavailable.
        Its headers carry the incident and the trace context on to the worker."""
        attributes = {
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": self.topic,
            "psb.incident": signal.incident,
            "psb.source_format": signal.source_format.value,
        }
        with tracing.step("publish", attributes, kind=SpanKind.PRODUCER):
            await self._send(signal)

    async def _send(self, signal: IncidentSignal) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def delivered(error: KafkaError | None, _message: Message) -> None:
            loop.call_soon_threadsafe(_settle, future, error, signal.incident)

        headers: list[tuple[str, str | bytes | None]] = [*tracing.record_headers(signal.incident)]
        try:
            self._producer.produce(
                self.topic,
                key=signal.incident.encode(),
                value=signal.model_dump_json().encode(),
                headers=headers,
                on_delivery=delivered,
            )
        except (BufferError, KafkaException) as exc:
            raise BrokerUnavailable from exc
        await future

    def ready(self, timeout_s: float = 2.0) -> bool:
        """Whether the broker answers a metadata request for our topic (blocking)."""
        try:
            # all topics: asking for one by name could make the broker auto-create it
            metadata = self._producer.list_topics(timeout=timeout_s)
        except KafkaException:
            return False
        topic = metadata.topics.get(self.topic)
        return topic is not None and topic.error is None

    def close(self, timeout_s: float = 10.0) -> None:
        remaining = self._producer.flush(timeout_s)
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if remaining:
            log.warning("records left unacknowledged at shutdown", count=remaining)


def _settle(future: asyncio.Future[None], error: Any, incident: str) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        log.warning("record not acknowledged", incident=incident, reason=str(error.name()))
        future.set_exception(BrokerUnavailable())
