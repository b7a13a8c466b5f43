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

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

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
from streams.context import WorkerContext
from streams.ledger import Ledger
from streams.policy.routing import scheme_info
from streams.policy.timing import reminder_due
from streams.retention import offer_expiry
from streams.schedule import Pending, Schedule, Stage

log = get_logger("dispatch")


FORGOTTEN = "forgotten"
"""What ``offers-scheduled`` keeps of an offer whose person left: that it was done."""


class Skip(StrEnum):
    UNKNOWN_STAFF = "unknown-staff"
    OPTED_OUT = "opted-out"
    NO_CHANNEL = "no-channel"


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
    if profile is None:
        return Skip.UNKNOWN_STAFF
    if profile.opted_out:
        return Skip.OPTED_OUT
    contact = next((point for point in profile.channels if point.channel in enabled), None)
    if contact is None:
        return Skip.NO_CHANNEL
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


class Dispatcher:
    """Delivery of due entries; shared by the agent (offers due at once) and the timer."""

    def __init__(
        self,
        ctx: WorkerContext,
        schedule: Schedule,
        sent: Ledger,
        scheduled: Ledger,
        requested: Ledger,
    ) -> None:
        self.ctx = ctx
        self.schedule = schedule
        self.sent = sent
        self.scheduled = scheduled  # offer id -> the offer, to remind after the reminder
        self.requested = requested  # offers whose "remind me later" was honoured
        self.on_sent: list[Callable[[Pending, Notification], Awaitable[None]]] = []

    def active_partitions(self) -> set[int]:
        topic = self.ctx.topics.support_offers
        return {
            tp.partition for tp in self.ctx.app.assignor.assigned_actives() if tp.topic == topic
        }

    async def deliver(self, pending: Pending) -> None:
        """In a step of its own: a child of the offer's when the offer is due at once, the
        root of a trace of its own when the schedule sends it later."""
        offer = pending.offer
        ids = {"psb.incident": offer.incident, "psb.offer": offer.offer_id}
        with tracing.step("notify", {**ids, "psb.kind": KIND_OF_STAGE[pending.stage].value}):
            await self._deliver(pending)

    async def _deliver(self, pending: Pending) -> None:
        ctx = self.ctx
        now = ctx.clock()
        policy = ctx.policy.current
        kind = KIND_OF_STAGE[pending.stage]
        profile = ctx.directory.get(pending.offer.person)
        outcome = notification_for(
            ctx.key,
            pending.offer,
            profile,
            ctx.enabled_channels,
            now,
            policy,
            kind,
            requested=pending.stage is Stage.LATER,
        )
        if isinstance(outcome, Skip):
            ctx.metrics.not_notified.labels(outcome.value).inc()
            tracing.annotate({"psb.reason": outcome.value})
            log.info("offer not notified", offer_id=pending.offer.offer_id, reason=outcome.value)
            self.schedule.remove(pending.offer.offer_id)
            return
        if outcome.notification_id in self.sent:
            ctx.metrics.duplicates.labels("notification").inc()
        else:  # sent before it is recorded as sent (the outbox sends outputs before the
            # ledgers): a stop between them repeats, never loses
            ctx.send_notification(outcome, pending.offer.incident)
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
            self.sent.record(
                outcome.notification_id,
                now.isoformat(),
                pending.partition,
                offer_expiry(pending.offer, policy),
            )
            ctx.metrics.notifications.labels(outcome.channel.value, outcome.kind.value).inc()
            for hook in self.on_sent:  # e.g. the evaluation figures
                try:
                    await hook(pending, outcome)
                except Exception as exc:  # figures must never hold up a delivery
                    log.error("hook failed", offer_id=pending.offer.offer_id, exc_info=exc)
        if pending.stage is Stage.OFFER and policy.timing.reminder.enabled:
            self.schedule.put(
                Pending(
                    offer=pending.offer,
                    stage=Stage.REMINDER,
                    due_at=reminder_due(now, policy.timing),
                    partition=pending.partition,
                ),
                offer_expiry(pending.offer, policy),
            )
        else:
            self.schedule.remove(pending.offer.offer_id)

    def count_waiting(self) -> None:
        stages = [pending.stage for pending in self.schedule.entries()]
        for stage in Stage:
            self.ctx.metrics.scheduled.labels(stage.value).set(stages.count(stage))
        self.ctx.metrics.schedule_backlog.set(len(stages))

    async def deliver_due(self) -> int:
        self.count_waiting()
        if not self.ctx.directory.ready.is_set():
            return 0
        due = self.schedule.due(self.ctx.clock(), self.active_partitions())
        for pending in sorted(due, key=lambda entry: entry.due_at):
            try:
                await self.deliver(pending)
            except Exception as exc:  # one bad entry must not stop the others
                log.error(
                    "delivery failed",
                    incident=pending.offer.incident,
                    offer_id=pending.offer.offer_id,
                    exc_info=exc,
                )
        await self.ctx.outbox.flush()
        return len(due)

    def answered(self, response: SupportResponse, partition: int) -> None:
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
            self.ctx.metrics.reminders_cancelled.inc()
        if response.answer is Answer.REMIND_LATER:
            self.remind_later(response, pending, partition)

    def remind_later(
        self, response: SupportResponse, pending: Pending | None, partition: int
    ) -> None:
        """One requested reminder per offer, at the policy's reminder interval (outside quiet
        hours), and only when the policy sends reminders at all."""
        policy = self.ctx.policy.current
        timing = policy.timing
        if not timing.reminder.enabled or response.offer_id in self.requested:
            return
        offer = pending.offer if pending is not None else self.known_offer(response.offer_id)
        if offer is None or offer.person != response.person:
            return
        expiry = offer_expiry(offer, policy)
        self.requested.record(
            response.offer_id, response.answered_at.isoformat(), partition, expiry
        )
        due = reminder_due(self.ctx.clock(), timing)
        self.schedule.put(
            Pending(offer=offer, stage=Stage.LATER, due_at=due, partition=partition), expiry
        )

    def known_offer(self, offer_id: str) -> SupportOffer | None:
        raw = self.scheduled.get(offer_id)
        if raw is None or raw == FORGOTTEN:
            return None
        return SupportOffer.model_validate_json(raw)


def register(ctx: WorkerContext, offers: Any, responses: Any) -> Dispatcher:
    app = ctx.app
    schedule = Schedule(ctx.ledger("deliveries-pending", work=True))
    scheduled = ctx.ledger("offers-scheduled")
    sent = ctx.ledger("notifications-made")
    requested = ctx.ledger("reminders-requested")
    dispatcher = Dispatcher(ctx, schedule, sent, scheduled, requested)
    source = offers.get_topic_name()

    async def take(offer: SupportOffer, partition: int) -> None:
        if offer.offer_id in scheduled:
            ctx.metrics.duplicates.labels("scheduled").inc()
            log.info("offer already scheduled, not scheduled again")
            return
        expiry = offer_expiry(offer, ctx.policy.current)
        if expiry <= ctx.clock():  # its ledger entries may be forgotten already
            ctx.metrics.too_old.labels("offer").inc()
            tracing.annotate({"psb.reason": "too-old"})
            log.info("offer too old, dropped", reason="too-old")
            return
        pending = Pending(offer=offer, stage=Stage.OFFER, due_at=offer.due_at, partition=partition)
        # before the ledger entry that makes a replay skip it
        schedule.put(pending, expiry)
        scheduled.record(offer.offer_id, offer.model_dump_json(), partition, expiry)
        if offer.due_at <= ctx.clock() and ctx.directory.ready.is_set():
            await dispatcher.deliver(pending)
        else:
            log.info("offer scheduled")

    @app.agent(offers, name="dispatch")
    async def dispatch_agent(stream: Any) -> None:
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            for event in events:
                offer: SupportOffer = event.value
                with tracing.step(
                    "dispatch",
                    tracing.consumed(source, incident=offer.incident, offer=offer.offer_id),
                    headers=event.message.headers,
                    kind=SpanKind.CONSUMER,
                ):
                    await take(offer, event.message.partition)
            await ctx.outbox.flush()

    @app.agent(responses, name="responses")
    async def responses_agent(stream: Any) -> None:
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            for event in events:
                dispatcher.answered(event.value, event.message.partition)
            await ctx.outbox.flush()

    @app.timer(interval=ctx.worker.scheduler_interval_ms / 1000)  # type: ignore[untyped-decorator]
    async def deliver_due() -> None:
        await dispatcher.deliver_due()

    return dispatcher
