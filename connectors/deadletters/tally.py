"""Dead letters counted by topic, reason and field path: what ``dead-letters list`` shows.

A row names where in a record the problem was (a path such as ``staff.0.role``), never a
value, key or payload: those stay on the source topic.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import AwareDatetime, BaseModel, ConfigDict

from connectors.deadletters.letters import DeadLetters, Filed
from schemas import Reason


class DeadLetterCount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    """The ``.dlq`` topic."""
    reason: Reason
    field_path: str | None
    count: int
    oldest: AwareDatetime
    newest: AwareDatetime


class DeadLetterListing(BaseModel):
    """``dead-letters list --json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dead_letters: int
    unreadable: dict[str, int]
    rows: list[DeadLetterCount]


def tally(filed: Iterable[Filed]) -> list[DeadLetterCount]:
    rows: dict[tuple[str, Reason, str], DeadLetterCount] = {}
    for item in filed:
        letter = item.letter
        key = (item.dlq_topic, letter.reason, letter.field_path or "")
        at = letter.recorded_at
        row = rows.get(key)
        if row is None:
            rows[key] = DeadLetterCount(
                topic=item.dlq_topic,
                reason=letter.reason,
                field_path=letter.field_path,
                count=1,
                oldest=at,
                newest=at,
            )
        else:
            rows[key] = row.model_copy(
                update={
                    "count": row.count + 1,
                    "oldest": min(row.oldest, at),
                    "newest": max(row.newest, at),
                }
            )
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1].value, k[2]))]


def listing(found: DeadLetters) -> DeadLetterListing:
    return DeadLetterListing(
        dead_letters=len(found.filed),
        unreadable=dict(sorted(found.unreadable.items())),
        rows=tally(found.filed),
    )
