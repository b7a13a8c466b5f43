"""Stand-ins for Faust's aiokafka producer, for unit tests of what the outbox sends."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import KafkaTimeoutError


class Batch:
    """Holds what aiokafka's batch builder would; full after ``capacity`` records."""

    def __init__(self, capacity: int) -> None:
        self.records: list[tuple[bytes | None, bytes | None]] = []
        self.headers: list[list[tuple[str, bytes]]] = []
        self.capacity = capacity

    def append(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        timestamp: None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> object:
        if len(self.records) >= self.capacity:
            return None
        self.records.append((key, value))
        self.headers.append(headers or [])
        return object()


class Broker:
    """Stands in for aiokafka's producer: records each batch as it is acknowledged."""

    def __init__(self, failures: int = 0, capacity: int = 1000) -> None:
        self.log: list[tuple[str, int, list[tuple[bytes | None, bytes | None]]]] = []
        self.failures = failures
        self.capacity = capacity

    def create_batch(self) -> Batch:
        return Batch(self.capacity)

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> Any:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failures:
            self.failures -= 1
            future.set_exception(KafkaTimeoutError())
        else:
            self.log.append((topic, partition, batch.records))
            future.set_result(None)
        return future


class App:
    def __init__(self, broker: Broker) -> None:
        self.producer = type("Producer", (), {"_ensure_producer": lambda _: broker})()


class OneBatchInFlightBroker(Broker):
    """As aiokafka's producer: a partition's next batch is taken only once the one before
    it is acknowledged, ``delay`` after it was taken. Notes how many partitions had a
    batch in flight at once."""

    def __init__(self, delay: float = 0.02) -> None:
        super().__init__()
        self.delay = delay
        self.most_in_flight = 0
        self._in_flight: set[tuple[str, int]] = set()
        self._last: dict[tuple[str, int], asyncio.Future[None]] = {}

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> Any:
        place = (topic, partition)
        previous = self._last.get(place)
        if previous is not None:
            await previous
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._last[place] = future
        self._in_flight.add(place)
        self.most_in_flight = max(self.most_in_flight, len(self._in_flight))

        def acknowledge() -> None:
            self._in_flight.discard(place)
            self.log.append((topic, partition, batch.records))
            future.set_result(None)

        loop.call_later(self.delay, acknowledge)
        return future
