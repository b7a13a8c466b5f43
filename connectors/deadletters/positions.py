"""Where a record was, and the header that marks a re-driven record with where it came from.

The mark travels on the re-produced record itself, so the proof that a position was
re-driven is written in the same acknowledged write as the re-drive, and is kept exactly as
long as that record: longer than the original it came from, which is all a later re-drive
needs to know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from schemas import DeadLetter

REDRIVEN_FROM: Final = "psb-redriven-from"
"""Header on a re-driven record: ``topic/partition/offset`` of the record it repeats."""

HeaderValue = str | bytes | None
Headers = Sequence[tuple[str, HeaderValue]] | Mapping[str, HeaderValue]
"""As confluent-kafka gives them: a list of pairs (a name may repeat), or a mapping."""


def _pairs(headers: Headers | None) -> list[tuple[str, HeaderValue]]:
    if headers is None:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


@dataclass(frozen=True, order=True)
class Position:
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"

    @classmethod
    def of(cls, letter: DeadLetter) -> Position:
        return cls(letter.source_topic, letter.partition, letter.offset)

    @classmethod
    def parse(cls, text: str) -> Position | None:
        topic, _, rest = text.rpartition("/")
        topic, _, partition = topic.rpartition("/")
        if not topic or not partition.isdigit() or not rest.isdigit():
            return None
        return cls(topic, int(partition), int(rest))


def redriven_from(headers: Headers | None) -> Position | None:
    """The position a record was re-driven from, if it carries the mark."""
    for name, value in _pairs(headers):
        if name == REDRIVEN_FROM and value is not None:
            text = value if isinstance(value, str) else value.decode("ascii", errors="replace")
            return Position.parse(text)
    return None


def marked(headers: Headers | None, origin: Position) -> list[tuple[str, HeaderValue]]:
    """The record's own headers, with the mark of ``origin`` in place of any earlier mark
    (a re-driven record that was refused again is re-driven from its own position)."""
    kept = [(name, value) for name, value in _pairs(headers) if name != REDRIVEN_FROM]
    return [*kept, (REDRIVEN_FROM, str(origin).encode("ascii"))]
