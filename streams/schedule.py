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
    """A ledger of pending entries keyed by offer id. It holds JSON (what its changelog
    restores) and keeps entries parsed beside it (:meth:`Ledger.get_model`), so the
    scheduler's scan every second costs a dictionary walk, not a validation of every
    waiting entry."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def put(self, pending: Pending) -> None:
        self._ledger.record_model(pending.offer.offer_id, pending, pending.partition)

    def remove(self, offer_id: str, partition: int) -> None:
        self._ledger.remove(offer_id, partition)

    def get(self, offer_id: str) -> Pending | None:
        return self._ledger.get_model(offer_id, Pending)

    def entries(self) -> Iterator[Pending]:
        for offer_id in self._ledger.references():
            pending = self._ledger.get_model(offer_id, Pending)
            if pending is not None:  # removed while the scan was under way
                yield pending

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
