"""Keeps the evaluation figures up to date as offers, reminders and answers happen: dispatch
tells it of each notification sent, the responses agent of each answer.

Per offer, a table remembers its cell (month of sending in the policy's time zone, the
person's unit and profession, the scheme) and which answers were counted, so a repeated
answer counts once and answers land in the month of the offer; it is forgotten with the
offer. Whether a person was already counted in a cell, and in each margin of the month (their
unit, profession, scheme, the month as a whole), is kept as a keyed id (of cell or margin
and staff pseudonym) until the month is over; a person is counted in a margin once, in the
cell of their first offer of the month there (``Figures.firsts``), so someone who changed
unit counts in both units and once in the month. The published figures hold counts only. Every
change to a cell's partial is written to the compacted ``evaluation`` topic, keyed by cell
and the partition that holds the offer's record. The worker keeps a cell only while it can
still change (:func:`cell_expiry`), so a restart restores months, not years, of cells; the
published copy is kept for the policy's ``retention.evaluation_months`` and then tombstoned
by :mod:`streams.evaluation.retire`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas import Answer, Notification, NotificationKind, SupportOffer, SupportResponse
from schemas.boundary import PseudonymKey, derive_id
from schemas.policy import Policy
from streams.evaluation.figures import MARGINS, NO_FIRSTS, Figures, observe
from streams.ledger import TEXT, Json, Ledger
from streams.metrics import WorkerMetrics
from streams.ports import Directory, Emit, Out, emitter
from streams.retention import offer_expiry

if TYPE_CHECKING:
    from streams.context import WorkerContext

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


SETTLING: Final = timedelta(days=1)
"""Grace after the last offer record of a month is forgotten: the sweep that forgets it
runs on a timer, and a reminder or answer handled meanwhile still finds its cell."""


def cell_expiry(month: str, policy: Policy) -> datetime:
    """When the worker forgets a cell of ``month``: once no offer record of the month is
    left, the cell can no longer change (reminders and answers look the record up first;
    an offer sent in the month was made by its end, and its record is forgotten
    ``retention.offers`` after that). Never later than the published figures' retention."""
    zone = policy.timing.zone
    settled = month_start(month, 1, zone) + policy.retention.offers + SETTLING
    return min(month_start(month, policy.retention.evaluation_months, zone), settled)


class Recorder:
    def __init__(
        self,
        *,
        offers: Ledger[OfferRecord],
        people: Ledger[str],
        cells: Ledger[Figures],
        emit: Emit,
        directory: Directory,
        key: PseudonymKey,
        policy: Callable[[], Policy],
        metrics: WorkerMetrics,
    ) -> None:
        self.offers = offers
        self.people = people
        self.cells = cells
        self.emit = emit
        self.directory = directory
        self.key = key
        self.policy = policy
        self.metrics = metrics

    def month_of(self, instant: datetime) -> str:
        return instant.astimezone(self.policy().timing.zone).strftime("%Y-%m")

    def _update(
        self,
        partition: int,
        record: OfferRecord,
        change: Callable[[Figures], Figures],
        *,
        new_offer: bool = False,
    ) -> None:
        """``partition``: the one that holds the offer's record; a person's offers and
        answers share one. Only an offer begins a cell: a reminder or answer whose cell was
        already forgotten (``retention.offers`` shortened since its offer) is not counted,
        rather than publishing a new partial over the kept one."""
        empty = Figures(
            month=record.month,
            unit=record.unit,
            profession=record.profession,
            scheme=record.scheme,
            partition=partition,
            firsts=NO_FIRSTS,
        )
        known = self.cells.get(empty.key)
        if known is None and not new_offer:
            return
        figures = change(empty if known is None else known)
        self.cells.put(figures.key, figures, cell_expiry(record.month, self.policy()))
        self.emit(Out.EVALUATION, figures.key, figures)

    def notified(self, offer: SupportOffer, notification: Notification) -> None:
        """A notification about ``offer`` went out."""
        if notification.kind is NotificationKind.OFFER:
            self._offer_sent(offer, notification)
        elif notification.kind is NotificationKind.REMINDER:
            record = self.offers.get(offer.offer_id)
            partition = self.offers.partition_of(offer.offer_id)
            if record is not None and partition is not None:
                self._update(
                    partition,
                    record,
                    lambda f: f.model_copy(update={"reminders": f.reminders + 1}),
                )

    def _offer_sent(self, offer: SupportOffer, notification: Notification) -> None:
        if offer.offer_id in self.offers or notification.scheme is None:
            return
        profile = self.directory.get(offer.person)
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
        policy = self.policy()
        partition = self.offers.put(offer.offer_id, record, offer_expiry(offer, policy))
        person = derive_id(
            self.key,
            "evp",
            record.month,
            record.unit,
            record.profession,
            record.scheme,
            offer.person,
        )
        # needed while offers can land in the month, a day's grace after it
        month_over = month_start(record.month, 1, policy.timing.zone) + timedelta(days=1)
        new_person = self._first(person, record.month, month_over)
        scopes = (record.unit, record.profession, record.scheme, "")
        firsts = tuple(
            int(
                self._first(
                    derive_id(self.key, "evm", record.month, margin, value, offer.person),
                    record.month,
                    month_over,
                )
            )
            for margin, value in zip(MARGINS, scopes, strict=True)
        )
        waited = now - offer.reported_at
        self.metrics.report_to_offer.observe(max(waited.total_seconds(), 0))

        def change(figures: Figures) -> Figures:
            return figures.model_copy(
                update={
                    "people": figures.people + int(new_person),
                    "firsts": None
                    if figures.firsts is None
                    else tuple(a + b for a, b in zip(figures.firsts, firsts, strict=True)),
                    "offers": figures.offers + 1,
                    "report_to_offer": observe(figures.report_to_offer, waited),
                }
            )

        self._update(partition, record, change, new_offer=True)

    def _first(self, person: str, month: str, month_over: datetime) -> bool:
        """Whether ``person`` (a keyed id) is counted for the first time this month."""
        if person in self.people:
            return False
        self.people.put(person, month, month_over)
        return True

    def answered(self, response: SupportResponse) -> None:
        record = self.offers.get(response.offer_id)
        partition = self.offers.partition_of(response.offer_id)
        if record is None or partition is None:
            return
        if response.answer in record.answers:
            return
        first = not record.answers
        self.offers.replace(
            response.offer_id,
            record.model_copy(update={"answers": (*record.answers, response.answer)}),
        )
        waited = response.answered_at - record.sent_at
        self.metrics.answers.labels(response.answer.value).inc()
        if first:
            self.metrics.offer_to_answer.observe(max(waited.total_seconds(), 0))
        name = ANSWER_FIELD[response.answer]

        def change(figures: Figures) -> Figures:
            update: dict[str, Any] = {name: getattr(figures, name) + 1}
            if first:
                update["answered"] = figures.answered + 1
                update["offer_to_answer"] = observe(figures.offer_to_answer, waited)
            return figures.model_copy(update=update)

        self._update(partition, record, change)


def register(ctx: WorkerContext) -> Recorder:
    """Its answers come from the responses agent (:mod:`streams.agents.responses`)."""
    return Recorder(
        offers=ctx.ledger("evaluation-offers", Json(OfferRecord)),
        people=ctx.ledger("evaluation-people", TEXT),
        # forgotten when it can no longer change; the published copy stays (see retire)
        cells=ctx.ledger("evaluation-cells", Json(Figures)),
        emit=emitter(ctx.topics, ctx.outbox),
        directory=ctx.directory,
        key=ctx.key,
        policy=lambda: ctx.policy.current,
        metrics=ctx.metrics,
    )
