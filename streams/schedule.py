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
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas import SupportOffer


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
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, pending: Pending) -> None:
        key, value = pending.offer.offer_id, pending.model_dump_json()
        self._table.data[key] = value
        self._table.send_changelog(pending.partition, key, value)

    def remove(self, offer_id: str, partition: int) -> None:
        if self._table.data.pop(offer_id, None) is not None:
            self._table.send_changelog(partition, offer_id, None, value_serializer="raw")

    def get(self, offer_id: str) -> Pending | None:
        raw = self._table.data.get(offer_id)
        return None if raw is None else Pending.model_validate_json(raw)

    def entries(self) -> Iterator[Pending]:
        for raw in list(self._table.data.values()):
            yield Pending.model_validate_json(raw)

    def due(self, now: datetime, partitions: set[int]) -> list[Pending]:
        return [
            pending
            for pending in self.entries()
            if pending.due_at <= now and pending.partition in partitions
        ]

    def for_staff(self, staff_ref: str) -> list[Pending]:
        return [pending for pending in self.entries() if pending.offer.staff_ref == staff_ref]

    def __len__(self) -> int:
        return len(self._table.data)
