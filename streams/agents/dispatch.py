"""Agent ``dispatch``: holds each ``SupportOffer`` until it is due, then sends the person a
``Notification`` on their first reachable channel, in their language, naming the scheme of
their profession; then one reminder, unless they answered.

Whether a person is known, opted out or reachable is decided when the message goes out,
not when the offer arrived: someone who opts out after an offer was scheduled gets nothing.
Dispatch delivers nothing until the directory view is loaded, so a restart never mistakes
everyone for unknown. The directory is looked up by the offer's staff pseudonym: this is the
one step that resolves a person to their contact details.

Everything kept about an offer is forgotten once the policy's ``retention.offers`` has
passed since it was made; an offer record older than that (a replay) is dropped, so what
was forgotten is never mistaken for not yet done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry.trace import SpanKind

from runtime import tracing
from runtime.logging import get_logger
from schemas import (
    Answer,
    Channel,
    Notification,
    NotificationKind,
    StaffProfile,
    SupportOffer,
    SupportResponse,
)
from schemas.boundary import PseudonymKey, derive_id
from schemas.policy import Policy
from streams import owner
from streams.agents.skip import Skip, reachable
from streams.ledger import TEXT, Forgettable, Ledger
from streams.metrics import WorkerMetrics
from streams.policy.routing import scheme_info
from streams.policy.timing import reminder_due
from streams.ports import Directory, Emit, Out, emitter
from streams.retention import offer_expiry
from streams.schedule import PENDING, Pending, Schedule, Stage

if TYPE_CHECKING:
    from streams.context import WorkerContext

__all__ = ["SCHEDULED", "Dispatcher", "Skip", "notification_for", "offer_person", "register"]

log = get_logger("dispatch")

SCHEDULED = Forgettable(SupportOffer)
"""``offers-scheduled``: the offer, or ``None`` once its person left (that it was done)."""


def offer_person(offer: SupportOffer | None) -> str | None:
    return None if offer is None else offer.person


KIND_OF_STAGE = {
    Stage.OFFER: NotificationKind.OFFER,
    Stage.REMINDER: NotificationKind.REMINDER,
    Stage.LATER: NotificationKind.REMINDER,
}


def notification_for(
    key: PseudonymKey,
    offer: SupportOffer,
    profile: StaffProfile | None,
    enabled: frozenset[Channel],
    now: datetime,
    policy: Policy,
    kind: NotificationKind = NotificationKind.OFFER,
    *,
    requested: bool = False,
) -> Notification | Skip:
    found = reachable(profile, enabled)
    if isinstance(found, Skip):
        return found
    profile, contact = found
    return Notification(
        notification_id=derive_id(
            key,
            "ntf",
            offer.offer_id,
            kind.value,
            contact.channel.value,
            *(("requested",) if requested else ()),
        ),
        offer_id=offer.offer_id,
        kind=kind,
        channel=contact.channel,
        address=contact.address,
        recipient_ref=offer.person,
        display_name=profile.display_name,
        language=profile.language,
        profession=profile.profession,
        scheme=scheme_info(policy, profile.profession, profile.language),
        policy_version=offer.policy_version,
        created_at=now,
    )


class Evaluation(Protocol):
    """What the evaluation figures are told of a delivery."""

    def notified(self, offer: SupportOffer, notification: Notification) -> None: ...


class Dispatcher:
    """Delivery of due entries; shared by the agent (offers due at once) and the timer."""

    def __init__(
        self,
        *,
        schedule: Schedule,
        sent: Ledger[str],
        scheduled: Ledger[SupportOffer | None],
        requested: Ledger[str],
        emit: Emit,
        directory: Directory,
        key: PseudonymKey,
        enabled_channels: frozenset[Channel],
        policy: Callable[[], Policy],
        clock: Callable[[], datetime],
        metrics: WorkerMetrics,
        evaluation: Evaluation | None = None,
    ) -> None:
        self.schedule = schedule
        self.sent = sent
        self.scheduled = scheduled  # offer id -> the offer, to remind after the reminder
        scheduled.index_by(offer_person)  # to forget a leaver's offers
        self.requested = requested  # offers whose "remind me later" was honoured
        self.emit = emit
        self.directory = directory
        self.key = key
        self.enabled_channels = enabled_channels
        self.policy = policy
        self.clock = clock
        self.metrics = metrics
        self.evaluation = evaluation

    async def take(self, offer: SupportOffer) -> None:
        """An offer read from ``support-offers``: scheduled once, delivered at once if due."""
        if offer.offer_id in self.scheduled:
            self.metrics.duplicates.labels("scheduled").inc()
            log.info("offer already scheduled, not scheduled again")
            return
        now = self.clock()
        expiry = offer_expiry(offer, self.policy())
        if expiry <= now:  # its ledger entries may be forgotten already
            self.metrics.too_old.labels("offer").inc()
            tracing.annotate({"psb.reason": "too-old"})
            log.info("offer too old, dropped", reason="too-old")
            return
        pending = Pending(offer=offer, stage=Stage.OFFER, due_at=offer.due_at)
        # before the ledger entry that makes a replay skip it
        self.schedule.put(pending, expiry)
        self.scheduled.put(offer.offer_id, offer, expiry)
        if offer.due_at <= now and self.directory.ready.is_set():
            await self.deliver(pending)
        else:
            log.info("offer scheduled")

    async def deliver(self, pending: Pending) -> None:
        """In a step of its own: a child of the offer's when the offer is due at once, the
        root of a trace of its own when the schedule sends it later."""
        offer = pending.offer
        ids = {"psb.incident": offer.incident, "psb.offer": offer.offer_id}
        with tracing.step("notify", {**ids, "psb.kind": KIND_OF_STAGE[pending.stage].value}):
            self._deliver(pending)

    def _deliver(self, pending: Pending) -> None:
        now = self.clock()
        policy = self.policy()
        kind = KIND_OF_STAGE[pending.stage]
        profile = self.directory.get(pending.offer.person)
        outcome = notification_for(
            self.key,
            pending.offer,
            profile,
            self.enabled_channels,
            now,
            policy,
            kind,
            requested=pending.stage is Stage.LATER,
        )
        if isinstance(outcome, Skip):
            self.metrics.not_notified.labels(outcome.value).inc()
            tracing.annotate({"psb.reason": outcome.value})
            log.info("offer not notified", offer_id=pending.offer.offer_id, reason=outcome.value)
            self.schedule.remove(pending.offer.offer_id)
            return
        if outcome.notification_id in self.sent:
            self.metrics.duplicates.labels("notification").inc()
        else:  # sent before it is recorded as sent (the outbox sends outputs before the
            # ledgers): a stop between them repeats, never loses
            self.emit(Out.NOTIFICATIONS, outcome.notification_id, outcome, pending.offer.incident)
            tracing.annotate(
                {"psb.notification": outcome.notification_id, "psb.channel": outcome.channel.value}
            )
            log.info(
                "notification sent to channel topic",
                offer_id=pending.offer.offer_id,
                notification_id=outcome.notification_id,
                channel=outcome.channel.value,
                kind=outcome.kind.value,
            )
            self.sent.put(
                outcome.notification_id, now.isoformat(), offer_expiry(pending.offer, policy)
            )
            self.metrics.notifications.labels(outcome.channel.value, outcome.kind.value).inc()
            self._evaluate(pending.offer, outcome)
        if pending.stage is Stage.OFFER and policy.timing.reminder.enabled:
            self.schedule.put(
                Pending(
                    offer=pending.offer,
                    stage=Stage.REMINDER,
                    due_at=reminder_due(now, policy.timing),
                ),
                offer_expiry(pending.offer, policy),
            )
        else:
            self.schedule.remove(pending.offer.offer_id)

    def _evaluate(self, offer: SupportOffer, notification: Notification) -> None:
        if self.evaluation is None:
            return
        try:
            self.evaluation.notified(offer, notification)
        except Exception as exc:  # figures must never hold up a delivery
            log.error("evaluation failed", offer_id=offer.offer_id, exc_info=exc)

    def count_waiting(self) -> None:
        waiting = self.schedule.waiting()
        for stage, count in waiting.items():
            self.metrics.scheduled.labels(stage.value).set(count)
        self.metrics.schedule_backlog.set(sum(waiting.values()))

    async def deliver_due(self) -> int:
        """Delivers what is due on the partitions this worker owns; each delivery writes
        where its entry is."""
        self.count_waiting()
        if not self.directory.ready.is_set():
            return 0
        due = self.schedule.due(self.clock())
        for pending in due:
            try:
                with self.schedule.owned_like(pending):
                    await self.deliver(pending)
            except Exception as exc:  # one bad entry must not stop the others
                log.error(
                    "delivery failed",
                    incident=pending.offer.incident,
                    offer_id=pending.offer.offer_id,
                    exc_info=exc,
                )
        return len(due)

    def answered(self, response: SupportResponse) -> None:
        """Any answer ends the wait for a reminder; "remind me later" then sets a new one."""
        pending = self.schedule.get(response.offer_id)
        if (
            pending is not None
            and pending.stage is Stage.LATER
            and response.answer is Answer.REMIND_LATER
        ):
            return  # asked again: the requested reminder stands
        if pending is not None and pending.stage in (Stage.REMINDER, Stage.LATER):
            self.schedule.remove(response.offer_id)
            self.metrics.reminders_cancelled.inc()
        if response.answer is Answer.REMIND_LATER:
            self.remind_later(response, pending)

    def remind_later(self, response: SupportResponse, pending: Pending | None) -> None:
        """One requested reminder per offer, at the policy's reminder interval (outside quiet
        hours), and only when the policy sends reminders at all."""
        policy = self.policy()
        timing = policy.timing
        if not timing.reminder.enabled or response.offer_id in self.requested:
            return
        offer = pending.offer if pending is not None else self.known_offer(response.offer_id)
        if offer is None or offer.person != response.person:
            return
        expiry = offer_expiry(offer, policy)
        self.requested.put(response.offer_id, response.answered_at.isoformat(), expiry)
        due = reminder_due(self.clock(), timing)
        self.schedule.put(Pending(offer=offer, stage=Stage.LATER, due_at=due), expiry)

    def known_offer(self, offer_id: str) -> SupportOffer | None:
        return self.scheduled.get(offer_id)  # None also once its person left

    def forget(self, person: str) -> int:
        """A leaver: their waiting offers and reminders go, with tombstones; their scheduled
        offers keep their ids (so a redelivered offer is still known as done) but lose the
        offer, which names them. Returns how many entries changed."""
        waiting = self.schedule.for_person(person)
        for pending in waiting:
            self.schedule.remove(pending.offer.offer_id)
        theirs = self.scheduled.keys_of(person)
        for offer_id in theirs:
            self.scheduled.replace(offer_id, None)
        return len(waiting) + len(theirs)


def register(ctx: WorkerContext, offers: Any, evaluation: Evaluation | None) -> Dispatcher:
    app = ctx.app
    topic = ctx.topics.support_offers

    def active() -> set[int]:
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}

    dispatcher = Dispatcher(
        schedule=Schedule(ctx.ledger("deliveries-pending", PENDING, work=True), active),
        sent=ctx.ledger("notifications-made", TEXT),
        scheduled=ctx.ledger("offers-scheduled", SCHEDULED),
        requested=ctx.ledger("reminders-requested", TEXT),
        emit=emitter(ctx.topics, ctx.outbox),
        directory=ctx.directory,
        key=ctx.key,
        enabled_channels=ctx.enabled_channels,
        policy=lambda: ctx.policy.current,
        clock=ctx.clock,
        metrics=ctx.metrics,
        evaluation=evaluation,
    )
    source = offers.get_topic_name()

    @app.agent(offers, name="dispatch")
    async def dispatch_agent(stream: Any) -> None:
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            for event in events:
                offer: SupportOffer = event.value
                with (
                    owner.owned_by(event.message.partition),
                    tracing.step(
                        "dispatch",
                        tracing.consumed(source, incident=offer.incident, offer=offer.offer_id),
                        headers=event.message.headers,
                        kind=SpanKind.CONSUMER,
                    ),
                ):
                    await dispatcher.take(offer)
            await ctx.outbox.flush()

    @app.timer(interval=ctx.worker.scheduler_interval_ms / 1000)  # type: ignore[untyped-decorator]
    async def deliver_due() -> None:
        await dispatcher.deliver_due()
        await ctx.outbox.flush()

    return dispatcher
