"""The source topic as it stands: the records dead letters point at, and the positions
already re-driven (the marks on records re-produced earlier).

One read from the beginning to the end finds both, and a record that is no longer there
(past retention) is simply not found.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from confluent_kafka import TIMESTAMP_CREATE_TIME

from connectors.deadletters.positions import Headers, Position, redriven_from
from runtime.settings import KafkaSettings
from runtime.topic_reader import read_to_end


@dataclass(frozen=True)
class SourceRecord:
    key: bytes | None
    value: bytes | None
    headers: Headers | None
    created_ms: int | None
    """The producer's timestamp, kept on the re-driven record: the worker reads it as the
    time a report was received, and retention counts from it, so a re-drive does not make
    a raw report live longer."""


@dataclass
class SourceScan:
    records: dict[Position, SourceRecord] = field(default_factory=dict)
    redriven: set[Position] = field(default_factory=set)


def scan_source(kafka: KafkaSettings, topic: str, wanted: Collection[Position]) -> SourceScan:
    scan = SourceScan()
    for message in read_to_end(kafka, [topic]):
        headers = message.headers()
        origin = redriven_from(headers)
        if origin is not None:
            scan.redriven.add(origin)
        position = Position(topic, message.partition() or 0, message.offset() or 0)
        if position in wanted:
            kind, stamp = message.timestamp()
            scan.records[position] = SourceRecord(
                key=message.key(),
                value=message.value(),
                headers=headers,
                created_ms=stamp if kind == TIMESTAMP_CREATE_TIME else None,
            )
    return scan
