"""A replicated, read-only view of a compacted topic (the staff directory, the supporters,
the evaluation figures).

Every process holds the whole view, the way Kafka Streams' GlobalKTable does: a staff
member or a supporter may be looked up from any partition. The view reads the topic itself
from the beginning (it is its own changelog), without a consumer group, and keeps tailing
it. Values are kept as the raw JSON bytes and parsed on lookup, which keeps a
100,000-person directory small in memory; the most recently parsed entries are kept parsed
(a delivery looks a person up several times). A null value (tombstone) removes the key.
Entries can be held under another key than the topic's (``index``): the directory is
looked up by staff pseudonym, never by a reference in clear.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Generic, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel, ValidationError

from runtime.kafka import aiokafka_options
from runtime.logging import get_logger
from runtime.settings import KafkaSettings

ModelT = TypeVar("ModelT", bound=BaseModel)

log = get_logger("view")
PARSED_ENTRIES = 4096
FETCH_WAIT_MS = 1500
"""A view changes seldom, and at rest each fetch it makes is one the process and the broker
wake for; a broker that does not park fetches (the embedded one) shows a change this much
later at most."""
LOADING_WAIT_MS = 200
"""How often the view checks whether it has read up to the end it found at start."""


def _same(key: str) -> str:
    return key


class ReplicatedView(Generic[ModelT]):
    def __init__(
        self,
        topic: str,
        model: type[ModelT],
        kafka: KafkaSettings,
        *,
        index: Callable[[str], str] = _same,
    ) -> None:
        self.topic = topic
        self.model = model
        self._kafka = kafka
        self._index = index
        self._entries: dict[str, bytes] = {}
        self.ready = asyncio.Event()
        self.invalid_records = 0
        self.records_read = 0
        """Records read from the topic so far (``psb_view_records_read_total``)."""
        self._on_remove: list[Callable[[str], None]] = []
        # keyed by the raw value, so a changed entry is never served from the cache
        self._parse = functools.lru_cache(maxsize=PARSED_ENTRIES)(model.model_validate_json)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: str) -> ModelT | None:
        raw = self._entries.get(key)
        return None if raw is None else self._parse(raw)

    def values(self) -> list[ModelT]:
        """Every entry, parsed (a snapshot: the view may change while it is used)."""
        return [self._parse(raw) for raw in list(self._entries.values())]

    def items(self) -> list[tuple[str, ModelT]]:
        """Every entry with the key it is held under (a snapshot, as :meth:`values`)."""
        return [(key, self._parse(raw)) for key, raw in list(self._entries.items())]

    def on_remove(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(key)`` for every tombstone (forgetting a person), with the key
        the entry is held under."""
        self._on_remove.append(callback)

    def _changed(self, old: bytes | None, new: ModelT | None) -> None:
        """Called after an entry was added, replaced or removed; for subclasses."""

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Apply one record. Records that are not a valid entry are counted and skipped."""
        if key is None:
            self.invalid_records += 1
            return
        name = key.decode("utf-8", errors="replace")
        if value is None:
            # also for a key the view does not hold: compaction may have removed its entry
            # while this worker was down, and what other tables hold about them must go too
            held = self._index(name)
            old = self._entries.pop(held, None)
            if old is not None:
                self._changed(old, None)
            self._parse.cache_clear()  # a leaver's parsed entry must not stay in memory
            for callback in self._on_remove:
                callback(held)
            return
        try:
            entry = self.model.model_validate_json(value)
        except ValidationError:
            self.invalid_records += 1
            log.warning("invalid view record skipped", topic=self.topic)
            return
        if getattr(entry, "staff_ref", name) != name:
            self.invalid_records += 1
            log.warning("view record key does not match its reference", topic=self.topic)
            return
        held = self._index(name)
        old = self._entries.get(held)
        self._entries[held] = value
        self._changed(old, entry)

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            **aiokafka_options(self._kafka),
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        await consumer.start()
        try:
            partitions = await self._wait_for_partitions(consumer)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            targets = await consumer.end_offsets(partitions)
            while True:
                wait = FETCH_WAIT_MS if self.ready.is_set() else LOADING_WAIT_MS
                batches = await consumer.getmany(timeout_ms=wait, max_records=5000)
                for records in batches.values():
                    self.records_read += len(records)
                    for record in records:
                        self.apply(record.key, record.value)
                if not self.ready.is_set() and await self._caught_up(consumer, targets):
                    self.ready.set()
                    log.info("view loaded", topic=self.topic, count=len(self._entries))
        finally:
            await consumer.stop()

    async def _wait_for_partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        while True:
            numbers = consumer.partitions_for_topic(self.topic)
            if numbers:
                return [TopicPartition(self.topic, number) for number in sorted(numbers)]
            await consumer.topics()  # refreshes cluster metadata
            await asyncio.sleep(0.5)

    @staticmethod
    async def _caught_up(consumer: AIOKafkaConsumer, targets: dict[TopicPartition, int]) -> bool:
        for partition, end in targets.items():
            if await consumer.position(partition) < end:
                return False
        return True
