"""The figures of one cell (month × unit × profession × scheme), as counts and histograms.

No person is named here: a cell holds how many people it is built from, how many offers,
answers and reminders it saw, and two histograms of durations (report → offer, offer →
answer) in fixed buckets, from which medians are estimated. Each worker keeps its own
partial per cell and Kafka partition (a person's offers and answers always share a
partition), published on the compacted ``evaluation`` topic; readers add the partials up.

``people`` counts the people of the cell. Someone whose unit changed within the month is in
two cells, so the people of a margin (a unit, a profession, a scheme) or of the month are
not the sum of its cells': ``firsts`` counts, per margin, the people whose first offer of
the month in that margin fell in this cell, and those do add up (:func:`people_of`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Final, Self

from pydantic import BaseModel, ConfigDict, Field

from schemas.codes import Code

BOUNDS_S: Final = (
    300, 900, 1800, 3600, 7200, 14400, 28800, 43200,
    86400, 172800, 259200, 432000, 604800, 1209600, 2592000,
)  # fmt: skip
"""Upper bounds of the duration buckets (5 min … 30 days); one more bucket is open-ended."""

COUNTS: Final = ("people", "offers", "answered", "accepted", "declined", "later", "reminders")
MARGINS: Final = ("unit", "profession", "scheme", "month")
"""The order of :attr:`Figures.firsts`."""
NO_FIRSTS: Final = (0, 0, 0, 0)

Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Histogram = tuple[int, ...]
EMPTY: Final[Histogram] = (0,) * (len(BOUNDS_S) + 1)


def bucket(duration: timedelta) -> int:
    seconds = max(duration.total_seconds(), 0)
    return next((i for i, bound in enumerate(BOUNDS_S) if seconds <= bound), len(BOUNDS_S))


def observe(histogram: Histogram, duration: timedelta) -> Histogram:
    index = bucket(duration)
    return tuple(count + (i == index) for i, count in enumerate(histogram))


def median_s(histogram: Histogram) -> float | None:
    """The median, interpolated inside its bucket (the open bucket reports its lower bound)."""
    total = sum(histogram)
    if total == 0:
        return None
    middle = total / 2
    seen = 0
    for i, count in enumerate(histogram):
        if count and seen + count >= middle:
            lower = BOUNDS_S[i - 1] if i > 0 else 0
            if i == len(BOUNDS_S):
                return float(lower)
            return lower + (BOUNDS_S[i] - lower) * (middle - seen) / count
        seen += count
    return None  # pragma: no cover - the loop always returns for a non-empty histogram


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    month: Month
    unit: Code
    profession: Code
    scheme: Code
    partition: int = 0
    people: int = 0
    offers: int = 0
    answered: int = 0
    accepted: int = 0
    declined: int = 0
    later: int = 0
    reminders: int = 0
    report_to_offer: Histogram = EMPTY
    offer_to_answer: Histogram = EMPTY
    firsts: tuple[int, int, int, int] | None = None
    """Per margin (:data:`MARGINS`), the people first counted in it here; ``None`` in a
    partial begun before these were counted."""

    @property
    def cell(self) -> tuple[str, str, str]:
        return (self.unit, self.profession, self.scheme)

    @property
    def key(self) -> str:
        return "|".join((self.month, *self.cell, str(self.partition)))

    @staticmethod
    def month_and_partition(key: str) -> tuple[str, int] | None:
        """The month and partition read back from a :attr:`key`; ``None`` for a key of
        another shape, which is left alone."""
        parts = key.split("|")
        if len(parts) != 5 or not parts[4].isdigit():
            return None
        return parts[0], int(parts[4])

    def plus(self, other: Figures) -> Self:
        merged = {name: getattr(self, name) + getattr(other, name) for name in COUNTS}
        for name in ("report_to_offer", "offer_to_answer"):
            merged[name] = tuple(
                a + b for a, b in zip(getattr(self, name), getattr(other, name), strict=True)
            )
        mine, theirs = self.firsts, other.firsts
        merged["firsts"] = (
            None
            if mine is None or theirs is None
            else tuple(a + b for a, b in zip(mine, theirs, strict=True))
        )
        return self.model_copy(update=merged)


def people_of(margin: tuple[str, str, str], leaves: list[Figures], total: str) -> int:
    """How many people a row of the table is built from, each counted once: a leaf's own
    count, or a margin's from its leaves' :attr:`Figures.firsts`. A month with partials
    from before those were counted falls back to the sum (which may count a person twice)."""
    if total not in margin:
        return sum(leaf.people for leaf in leaves)
    named = [i for i, value in enumerate(margin) if value != total]
    index = named[0] if len(named) == 1 else MARGINS.index("month")
    if len(named) > 1 or any(leaf.firsts is None for leaf in leaves):
        return sum(leaf.people for leaf in leaves)
    return sum(leaf.firsts[index] for leaf in leaves if leaf.firsts is not None)


def combine(partials: Iterable[Figures]) -> dict[tuple[str, str, str, str], Figures]:
    """Partials summed per month and cell (partition dropped)."""
    cells: dict[tuple[str, str, str, str], Figures] = {}
    for partial in partials:
        key = (partial.month, *partial.cell)
        base = cells.get(key)
        whole = partial.model_copy(update={"partition": 0})
        cells[key] = whole if base is None else base.plus(whole)
    return cells
