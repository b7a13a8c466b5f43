"""Which dead letters of a topic a re-drive takes: the operator's filters, one per position."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from connectors.deadletters.letters import Filed
from connectors.deadletters.positions import Position
from schemas import Reason


@dataclass
class Selection:
    """``read = len(positions) + filtered + repeated``."""

    read: int = 0
    positions: list[Position] = field(default_factory=list)
    """Positions to re-drive, in partition and offset order (each partition's order kept)."""
    filtered: int = 0
    """Not of the topic, or left out by ``--reason`` or ``--since``."""
    repeated: int = 0
    """A second dead letter for a position already selected (the worker refused the same
    record twice, e.g. after a restart): it is re-driven once."""


def select(
    filed: Iterable[Filed],
    source_topic: str,
    reasons: Collection[Reason] = (),
    since: datetime | None = None,
) -> Selection:
    selection = Selection()
    chosen: set[Position] = set()
    for item in filed:
        selection.read += 1
        letter = item.letter
        if (
            letter.source_topic != source_topic
            or (reasons and letter.reason not in reasons)
            or (since is not None and letter.recorded_at < since)
        ):
            selection.filtered += 1
            continue
        position = Position.of(letter)
        if position in chosen:
            selection.repeated += 1
            continue
        chosen.add(position)
    selection.positions = sorted(chosen)
    return selection
