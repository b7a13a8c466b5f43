"""Agent ``offers``: one ``SupportOffer`` per staff member a signal names in an offered role.

Idempotent: the offer id is derived from the incident pseudonym and the staff reference,
and a ledger table remembers which offers were made, so a replayed or redelivered signal
never produces a second offer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

from schemas import IncidentSignal, StaffRole, SupportOffer
from schemas.boundary import derive_id
from streams.context import WorkerContext
from streams.ledger import Ledger

OFFERED_ROLES: Final = frozenset({StaffRole.REPORTER, StaffRole.INVOLVED})


def offer_id_for(incident: str, staff_ref: str) -> str:
    return derive_id("off", incident, staff_ref)


def offers_for(signal: IncidentSignal, now: datetime) -> Iterator[SupportOffer]:
    for person in signal.staff:
        if person.role in OFFERED_ROLES:
            yield SupportOffer(
                offer_id=offer_id_for(signal.incident, person.staff_ref),
                incident=signal.incident,
                staff_ref=person.staff_ref,
                role=person.role,
                reported_at=signal.reported_at,
                created_at=now,
            )


def register(ctx: WorkerContext, signals: Any, offers: Any) -> None:
    ledger = Ledger(ctx.app.Table("offers-made", default=None, key_type=str, value_type=str))
    metrics = ctx.metrics

    @ctx.app.agent(signals, name="offers")
    async def offers_agent(stream: Any) -> None:
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            for event in events:
                for offer in offers_for(event.value, ctx.clock()):
                    if offer.offer_id in ledger:
                        metrics.duplicates.labels("offer").inc()
                        continue
                    ledger.record(
                        offer.offer_id, offer.created_at.isoformat(), event.message.partition
                    )
                    await offers.send(key=offer.staff_ref, value=offer)
                    metrics.offers.labels(offer.role.value).inc()
