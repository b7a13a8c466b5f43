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
from streams.ledger import Ledger, unwrap


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
    waiting entry. An entry restored from the changelog is parsed when first read. An entry
    is forgotten with its offer (``expires_at``), whether it went out or not."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._parsed: dict[str, tuple[str, Pending]] = {}

    def put(self, pending: Pending, expires_at: datetime) -> None:
        key = pending.offer.offer_id
        self._ledger.record(key, pending.model_dump_json(), pending.partition, expires_at)
        stored = self._ledger.stored(key)
        if stored is not None:
            self._parsed[key] = (stored, pending)

    def remove(self, offer_id: str) -> None:
        self._parsed.pop(offer_id, None)
        self._ledger.remove(offer_id)

    def _parse(self, offer_id: str, stored: str) -> Pending:
        known = self._parsed.get(offer_id)
        if known is not None and known[0] is stored:
            return known[1]
        pending = Pending.model_validate_json(unwrap(stored).value)
        self._parsed[offer_id] = (stored, pending)
        return pending

    def get(self, offer_id: str) -> Pending | None:
        stored = self._ledger.stored(offer_id)
        return None if stored is None else self._parse(offer_id, stored)

    def expires_at(self, offer_id: str) -> float | None:
        entry = self._ledger.entry(offer_id)
        return None if entry is None else entry.expires_at

    def entries(self) -> Iterator[Pending]:
        ledger = self._ledger
        if len(self._parsed) > len(ledger):  # entries Faust dropped (rebalance, recovery)
            self._parsed = {key: known for key, known in self._parsed.items() if key in ledger}
        for offer_id, stored in ledger.stored_items():
            yield self._parse(offer_id, stored)

    def due(self, now: datetime, partitions: set[int]) -> list[Pending]:
        """What is due on ``partitions``; an entry whose time to be forgotten has come is
        not sent (the retention sweep removes it)."""
        return [
            pending
            for pending in self.entries()
            if pending.due_at <= now
            and pending.partition in partitions
            and (self.expires_at(pending.offer.offer_id) or 0) > now.timestamp()
        ]

    def for_person(self, person: str) -> list[Pending]:
        return [pending for pending in self.entries() if pending.offer.person == person]

    def __len__(self) -> int:
        return len(self._ledger)
