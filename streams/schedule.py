"""Offers and reminders waiting to go out, in a Faust table that survives restarts.

Keyed by offer id and written to the changelog partition of the ``support-offers`` record
that created the entry (which is also the partition of the person's answers), so after a
restart or a rebalance the entry is restored on the worker that owns that person. Only
entries of partitions this worker actively owns are ever delivered; the others wait until
it owns them. Which partition that is, the ledger knows (its envelope); an entry does not
carry it.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Container
from contextlib import AbstractContextManager
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from schemas import SupportOffer
from streams.ledger import Json, Ledger


class Stage(StrEnum):
    OFFER = "offer"
    REMINDER = "reminder"
    LATER = "later"  # the reminder a person asked for with "remind me later"


class Pending(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    offer: SupportOffer
    stage: Stage
    due_at: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _without_partition(cls, data: Any) -> Any:
        """Entries of earlier releases carry their partition in the value too (the
        ledger's envelope holds it): dropped, so their changelogs still restore."""
        if isinstance(data, dict) and "partition" in data:
            return {name: value for name, value in data.items() if name != "partition"}
        return data


PENDING: Final = Json(Pending)


def _person(pending: Pending) -> str:
    return pending.offer.person


class Schedule:
    """Entries wait for days (reminders), so the scheduler's tick must not walk them all:
    a heap per partition orders them by due time (pruned lazily: an entry put again or
    removed leaves a stale heap item, skipped when it comes up), counts per stage are kept
    as entries come and go, and the ledger finds a person's entries by its index. After
    Faust restored the table underneath (the ledger's ``generation`` moved on), all of it is
    rebuilt once. An entry is forgotten with its offer (``expires_at``), whether it went out
    or not."""

    def __init__(
        self, ledger: Ledger[Pending], owned: Callable[[], Container[int]] | None = None
    ) -> None:
        """``owned``: the partitions whose entries this worker delivers now."""
        self._ledger = ledger
        self._owned = owned
        ledger.index_by(_person)
        ledger.on_expire.append(lambda offer_id, _: self._unindex(offer_id))
        self._generation = -1
        # offer id -> due time, stage, partition
        self._waiting: dict[str, tuple[float, Stage, int]] = {}
        self._due: dict[int, list[tuple[float, str]]] = {}  # per partition
        self._stages: Counter[Stage] = Counter()

    def _refresh(self) -> None:
        ledger = self._ledger
        ledger.sync()
        if ledger.generation == self._generation:
            return
        self._generation = ledger.generation
        self._waiting = {}
        self._due = {}
        self._stages = Counter()
        for _, pending, partition in ledger.entries():
            self._index(pending, partition)
        for heap in self._due.values():
            heapq.heapify(heap)

    def _index(self, pending: Pending, partition: int) -> None:
        key = pending.offer.offer_id
        due = pending.due_at.timestamp()
        known = self._waiting.get(key)
        if known is not None:
            self._stages[known[1]] -= 1
        self._waiting[key] = (due, pending.stage, partition)
        self._stages[pending.stage] += 1
        if known is None or known[0] != due or known[2] != partition:
            heapq.heappush(self._due.setdefault(partition, []), (due, key))

    def _unindex(self, offer_id: str) -> None:
        known = self._waiting.pop(offer_id, None)
        if known is not None:
            self._stages[known[1]] -= 1

    def put(self, pending: Pending, expires_at: datetime) -> None:
        self._refresh()
        key = pending.offer.offer_id
        self._index(pending, self._ledger.put(key, pending, expires_at))

    def remove(self, offer_id: str) -> None:
        self._refresh()
        self._ledger.remove(offer_id)
        self._unindex(offer_id)

    def get(self, offer_id: str) -> Pending | None:
        return self._ledger.get(offer_id)

    def owned_like(self, pending: Pending) -> AbstractContextManager[None]:
        """What is written in this block belongs where ``pending`` is."""
        return self._ledger.owned_like(pending.offer.offer_id)

    def due(self, now: datetime, partitions: Container[int] | None = None) -> list[Pending]:
        """What is due on ``partitions`` (by default those owned now), earliest first; an
        entry whose time to be forgotten has come is not sent (the retention sweep removes
        it). What is returned stays in the schedule until delivery removes or replaces it,
        so a delivery that failed is tried again at the next tick."""
        self._refresh()
        if partitions is None:
            partitions = self._owned() if self._owned is not None else range(0)
        cutoff = now.timestamp()
        found: list[Pending] = []
        seen: set[str] = set()
        for partition, heap in self._due.items():
            if partition not in partitions:
                continue
            still: list[tuple[float, str]] = []
            while heap and heap[0][0] <= cutoff:
                item = heapq.heappop(heap)
                due, offer_id = item
                known = self._waiting.get(offer_id)
                if known is None or known[::2] != (due, partition) or offer_id in seen:
                    continue  # removed or put again since
                seen.add(offer_id)
                still.append(item)
                entry = self._ledger.entry(offer_id)
                pending = self._ledger.get(offer_id)
                if entry is not None and pending is not None and entry.expires_at > cutoff:
                    found.append(pending)
            for item in still:
                heapq.heappush(heap, item)
        return sorted(found, key=lambda pending: pending.due_at)

    def for_person(self, person: str) -> list[Pending]:
        self._refresh()
        found = (self._ledger.get(offer_id) for offer_id in self._ledger.keys_of(person))
        return [pending for pending in found if pending is not None]

    def waiting(self) -> dict[Stage, int]:
        """How many entries wait, per stage."""
        self._refresh()
        return {stage: self._stages[stage] for stage in Stage}

    def __len__(self) -> int:
        self._refresh()
        return len(self._waiting)
