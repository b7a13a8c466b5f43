"""Sending the records dead letters point at to their topic again, for the worker to judge
once more now that the cause is fixed.

Each record goes back to its own partition with its key, value, headers and timestamp, and
a ``psb-redriven-from`` header naming the position it came from. A position whose mark is
already on the topic is not sent again, so running the same re-drive twice sends nothing
the second time; the pipeline behind is idempotent too (offers are keyed), so a person never
gets a second offer either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from connectors.deadletters.positions import Position, marked
from connectors.deadletters.select import Selection
from connectors.deadletters.source import SourceRecord, SourceScan
from runtime.kafka import producer_config
from runtime.settings import KafkaSettings


@dataclass
class RedriveSummary:
    """Counts that add up: ``read = redriven + already_redriven + expired + filtered +
    failed`` (in a dry run, ``redriven`` counts what would be sent)."""

    dry_run: bool = False
    read: int = 0
    redriven: int = 0
    already_redriven: int = 0
    expired: int = 0
    filtered: int = 0
    failed: int = 0
    unreadable: int = 0
    """Records on the ``.dlq`` topic that are not dead letters; not part of ``read``."""
    expired_positions: list[Position] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "dead_letters_read": self.read,
            "redriven": self.redriven,
            "already_redriven": self.already_redriven,
            "expired": self.expired,
            "filtered": self.filtered,
            "failed": self.failed,
            "unreadable": self.unreadable,
            "expired_positions": [str(position) for position in self.expired_positions],
        }


class _Acknowledged:
    """Delivery reports, counted as they arrive."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, error: KafkaError | None, _message: Message) -> None:
        if error is None:
            with self._lock:
                self.count += 1


def redrive(
    kafka: KafkaSettings,
    topic: str,
    selection: Selection,
    scan: SourceScan,
    *,
    dry_run: bool,
    expired: Callable[[Position], None] = lambda _position: None,
    advance: Callable[[], None] = lambda: None,
) -> RedriveSummary:
    summary = RedriveSummary(
        dry_run=dry_run,
        read=selection.read,
        filtered=selection.filtered,
        already_redriven=selection.repeated,
    )
    producer = None if dry_run else Producer(producer_config(kafka))
    acknowledged = _Acknowledged()
    sent = 0
    for position in selection.positions:
        advance()
        if position in scan.redriven:
            summary.already_redriven += 1
            continue
        record = scan.records.get(position)
        if record is None:
            summary.expired += 1
            summary.expired_positions.append(position)
            expired(position)
            continue
        if producer is not None:
            _produce(producer, topic, position, record, acknowledged)
        sent += 1
    if producer is None:
        summary.redriven = sent
    else:
        producer.flush(60)
        summary.redriven = acknowledged.count
        summary.failed = sent - acknowledged.count
    return summary


def _produce(
    producer: Producer,
    topic: str,
    position: Position,
    record: SourceRecord,
    on_delivery: _Acknowledged,
) -> None:
    options: dict[str, Any] = {}
    if record.created_ms is not None:
        options["timestamp"] = record.created_ms
    while True:
        try:
            producer.produce(
                topic,
                key=record.key,
                value=record.value,
                partition=position.partition,
                headers=marked(record.headers, position),
                on_delivery=on_delivery,
                **options,
            )
            break
        except BufferError:  # local queue full: let deliveries drain it
            producer.poll(0.5)
    producer.poll(0)
