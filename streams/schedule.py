"""Offers and reminders waiting to go out, in a Faust table that survives restarts.

Keyed by offer id and written to the changelog partition of the ``support-offers`` record
that created the entry (which is also the partition of the person's answers), so after a
restart or a rebalance the entry is restored on the worker that owns that person. Only
entries of partitions this worker actively owns are ever delivered.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas import SupportOffer
from streams.ledger import Ledger


class Stage(StrEnum):
    OFFER = "offer"
    REMINDER = "reminder"
    LATER = "later"  # the reminder a person asked for with "remind me later"


class Pending(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    offer: SupportOffer
    stage: Stage
    due_at: AwareDatetime
    partition: int


class Schedule:
    """The ledger holds JSON (what its changelog restores); parsed entries are kept beside
    it, so the scheduler's scan every second walks a dictionary instead of validating every
    waiting entry. An entry restored from the changelog is parsed when first read."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._parsed: dict[str, tuple[str, Pending]] = {}

    def put(self, pending: Pending) -> None:
        key, value = pending.offer.offer_id, pending.model_dump_json()
        self._ledger.record(key, value, pending.partition)
        self._parsed[key] = (value, pending)

    def remove(self, offer_id: str, partition: int) -> None:
        self._parsed.pop(offer_id, None)
        self._ledger.remove(offer_id, partition)

    def _parse(self, offer_id: str, raw: str) -> Pending:
        known = self._parsed.get(offer_id)
        if known is not None and known[0] is raw:
            return known[1]
        pending = Pending.model_validate_json(raw)
        self._parsed[offer_id] = (raw, pending)
        return pending

    def get(self, offer_id: str) -> Pending | None:
        raw = self._ledger.get(offer_id)
        return None if raw is None else self._parse(offer_id, raw)

    def entries(self) -> Iterator[Pending]:
        ledger = self._ledger
        if len(self._parsed) > len(ledger):  # entries Faust dropped (rebalance, recovery)
            self._parsed = {key: known for key, known in self._parsed.items() if key in ledger}
        for offer_id, raw in ledger.items():
            yield self._parse(offer_id, raw)

    def due(self, now: datetime, partitions: set[int]) -> list[Pending]:
        return [
            pending
            for pending in self.entries()
            if pending.due_at <= now and pending.partition in partitions
        ]

    def for_staff(self, staff_ref: str) -> list[Pending]:
        return [pending for pending in self.entries() if pending.offer.staff_ref == staff_ref]

    def __len__(self) -> int:
        return len(self._ledger)
