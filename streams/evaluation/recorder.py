"""Keeps the evaluation figures up to date as offers, reminders and answers happen.

Per offer, a table remembers its cell (month of sending in the policy's time zone, the
person's unit and profession, the scheme) and which answers were counted, so a repeated
answer counts once and answers land in the month of the offer; it is forgotten with the
offer. Whether a person was already counted in a cell is kept as a keyed id (of cell and
staff pseudonym) until the month is over; the published figures hold counts only. Every
change to a cell's partial is written to the compacted ``evaluation`` topic, keyed by cell
and partition; a cell is kept for the policy's ``retention.evaluation_months``, then
tombstoned there too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas import Answer, Notification, NotificationKind, SupportResponse
from schemas.boundary import derive_id
from streams.context import WorkerContext
from streams.evaluation.figures import Figures, observe
from streams.ledger import Ledger
from streams.retention import offer_expiry
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


def month_start(month: str, months_later: int, zone: ZoneInfo) -> datetime:
    """The first instant of the month ``months_later`` after ``month`` (``YYYY-MM``)."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + months_later
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=zone)


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
        policy = self.ctx.policy.current
        kept_until = month_start(
            record.month, policy.retention.evaluation_months, policy.timing.zone
        )
        self.cells.record(figures.key, value, partition, kept_until)
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
        profile = self.ctx.directory.get(offer.person)
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
        policy = self.ctx.policy.current
        expiry = offer_expiry(offer, policy)
        self.offers.record(offer.offer_id, record.model_dump_json(), pending.partition, expiry)
        person = derive_id(
            self.ctx.key,
            "evp",
            record.month,
            record.unit,
            record.profession,
            record.scheme,
            offer.person,
        )
        new_person = person not in self.people
        if new_person:  # needed while offers can land in the month, a day's grace after it
            month_over = month_start(record.month, 1, policy.timing.zone) + timedelta(days=1)
            self.people.record(person, record.month, pending.partition, month_over)
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
        self.offers.replace(
            response.offer_id,
            record.model_copy(
                update={"answers": (*record.answers, response.answer)}
            ).model_dump_json(),
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

    topic = ctx.topics.evaluation

    def unpublish(cell: str, _value: str) -> None:
        ctx.outbox.put(topic, cell.encode(), None)

    recorder = Recorder(
        ctx,
        ctx.ledger("evaluation-offers"),
        ctx.ledger("evaluation-people"),
        ctx.ledger("evaluation-cells", on_expire=unpublish),
        topic,
    )
    on_sent.append(recorder.sent)

    @app.agent(responses, name="evaluation")
    async def evaluation_agent(stream: Any) -> None:
        async for event in stream.events():
            await recorder.answered(event.value, event.message.partition)
            await ctx.outbox.flush()

    return recorder
