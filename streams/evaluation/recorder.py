"""Keeps the evaluation figures up to date as offers, reminders and answers happen.

Per offer, a table remembers its cell (month of sending in the policy's time zone, the
person's unit and profession, the scheme) and which answers were counted, so a repeated
answer counts once and answers land in the month of the offer. Whether a person was
already counted in a cell is kept as a derived id (a hash of cell and staff reference) in a
worker-internal table; the published figures hold counts only. Every change to a cell's
partial is written to the compacted ``evaluation`` topic, keyed by cell and partition.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas import Answer, Notification, NotificationKind, SupportResponse
from schemas.boundary import derive_id
from streams.context import WorkerContext
from streams.evaluation.figures import Figures, observe
from streams.ledger import Ledger
from streams.schedule import Pending

ANSWER_FIELD = {Answer.ACCEPT: "accepted", Answer.NOT_NOW: "declined", Answer.REMIND_LATER: "later"}


class OfferRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    month: str
    unit: str
    profession: str
    scheme: str
    sent_at: AwareDatetime
    answers: tuple[Answer, ...] = ()


class Recorder:
    def __init__(
        self, ctx: WorkerContext, offers: Ledger, people: Ledger, cells: Ledger, topic: str
    ) -> None:
        self.ctx = ctx
        self.offers = offers
        self.people = people
        self.cells = cells
        self.topic = topic

    def month_of(self, instant: datetime) -> str:
        return instant.astimezone(self.ctx.policy.current.timing.zone).strftime("%Y-%m")

    async def _update(
        self, record: OfferRecord, partition: int, change: Callable[[Figures], Figures]
    ) -> None:
        empty = Figures(
            month=record.month,
            unit=record.unit,
            profession=record.profession,
            scheme=record.scheme,
            partition=partition,
        )
        raw = self.cells.get(empty.key)
        figures = change(empty if raw is None else Figures.model_validate_json(raw))
        value = figures.model_dump_json()
        self.cells.record(figures.key, value, partition)
        self.ctx.outbox.put(self.topic, figures.key.encode(), value.encode())

    async def sent(self, pending: Pending, notification: Notification) -> None:
        if notification.kind is NotificationKind.OFFER:
            await self._offer_sent(pending, notification)
        elif notification.kind is NotificationKind.REMINDER:
            raw = self.offers.get(pending.offer.offer_id)
            if raw is not None:
                record = OfferRecord.model_validate_json(raw)
                await self._update(
                    record,
                    pending.partition,
                    lambda f: f.model_copy(update={"reminders": f.reminders + 1}),
                )

    async def _offer_sent(self, pending: Pending, notification: Notification) -> None:
        offer = pending.offer
        if offer.offer_id in self.offers or notification.scheme is None:
            return
        profile = self.ctx.directory.get(offer.staff_ref)
        if profile is None:
            return
        now = notification.created_at
        record = OfferRecord(
            month=self.month_of(now),
            unit=profile.unit_code,
            profession=profile.profession.value,
            scheme=notification.scheme.scheme_id,
            sent_at=now,
        )
        self.offers.record(offer.offer_id, record.model_dump_json(), pending.partition)
        person = derive_id(
            "evp", record.month, record.unit, record.profession, record.scheme, offer.staff_ref
        )
        new_person = person not in self.people
        if new_person:
            self.people.record(person, "1", pending.partition)
        waited = now - offer.reported_at
        self.ctx.metrics.report_to_offer.observe(max(waited.total_seconds(), 0))

        def change(figures: Figures) -> Figures:
            return figures.model_copy(
                update={
                    "people": figures.people + int(new_person),
                    "offers": figures.offers + 1,
                    "report_to_offer": observe(figures.report_to_offer, waited),
                }
            )

        await self._update(record, pending.partition, change)

    async def answered(self, response: SupportResponse, partition: int) -> None:
        raw = self.offers.get(response.offer_id)
        if raw is None:
            return
        record = OfferRecord.model_validate_json(raw)
        if response.answer in record.answers:
            return
        first = not record.answers
        self.offers.record(
            response.offer_id,
            record.model_copy(
                update={"answers": (*record.answers, response.answer)}
            ).model_dump_json(),
            partition,
        )
        waited = response.answered_at - record.sent_at
        self.ctx.metrics.answers.labels(response.answer.value).inc()
        if first:
            self.ctx.metrics.offer_to_answer.observe(max(waited.total_seconds(), 0))
        name = ANSWER_FIELD[response.answer]

        def change(figures: Figures) -> Figures:
            update: dict[str, Any] = {name: getattr(figures, name) + 1}
            if first:
                update["answered"] = figures.answered + 1
                update["offer_to_answer"] = observe(figures.offer_to_answer, waited)
            return figures.model_copy(update=update)

        await self._update(record, partition, change)


def register(ctx: WorkerContext, responses: Any, on_sent: list[Any]) -> Recorder:
    app = ctx.app

    recorder = Recorder(
        ctx,
        ctx.ledger("evaluation-offers"),
        ctx.ledger("evaluation-people"),
        ctx.ledger("evaluation-cells"),
        ctx.topics.evaluation,
    )
    on_sent.append(recorder.sent)

    @app.agent(responses, name="evaluation")
    async def evaluation_agent(stream: Any) -> None:
        async for event in stream.events():
            await recorder.answered(event.value, event.message.partition)
            await ctx.outbox.flush()

    return recorder
