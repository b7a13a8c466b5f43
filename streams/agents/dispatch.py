"""Agent ``dispatch``: a ``SupportOffer`` becomes a ``Notification`` on the channel topic
of the person's first reachable channel, in their language.

A person missing from the directory, opted out, or without a reachable channel gets
nothing; the reason is counted. Dispatch waits for the directory view to be loaded, so a
restart never mistakes everyone for unknown.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from runtime.logging import get_logger
from schemas import Channel, Notification, NotificationKind, OfferKind, StaffProfile, SupportOffer
from schemas.boundary import derive_id
from streams.context import WorkerContext
from streams.ledger import Ledger

log = get_logger("dispatch")


class Skip(StrEnum):
    UNKNOWN_STAFF = "unknown-staff"
    OPTED_OUT = "opted-out"
    NO_CHANNEL = "no-channel"


def notification_for(
    offer: SupportOffer,
    profile: StaffProfile | None,
    enabled: frozenset[Channel],
    now: datetime,
) -> Notification | Skip:
    if profile is None:
        return Skip.UNKNOWN_STAFF
    if profile.opted_out:
        return Skip.OPTED_OUT
    contact = next((point for point in profile.channels if point.channel in enabled), None)
    if contact is None:
        return Skip.NO_CHANNEL
    kind = NotificationKind.REMINDER if offer.kind is OfferKind.REMINDER else NotificationKind.OFFER
    return Notification(
        notification_id=derive_id("ntf", offer.offer_id, kind.value, contact.channel.value),
        offer_id=offer.offer_id,
        kind=kind,
        channel=contact.channel,
        address=contact.address,
        recipient_ref=profile.staff_ref,
        display_name=profile.display_name,
        language=profile.language,
        profession=profile.profession,
        created_at=now,
    )


def register(ctx: WorkerContext, offers: Any, channel_topics: dict[Channel, Any]) -> None:
    ledger = Ledger(ctx.app.Table("notifications-made", default=None, key_type=str, value_type=str))
    metrics = ctx.metrics

    @ctx.app.agent(offers, name="dispatch")
    async def dispatch_agent(stream: Any) -> None:
        await ctx.directory.ready.wait()
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            for event in events:
                offer: SupportOffer = event.value
                profile = ctx.directory.get(offer.staff_ref)
                outcome = notification_for(offer, profile, ctx.enabled_channels, ctx.clock())
                if isinstance(outcome, Skip):
                    metrics.not_notified.labels(outcome.value).inc()
                    log.info("offer not notified", offer_id=offer.offer_id, reason=outcome.value)
                    continue
                if outcome.notification_id in ledger:
                    metrics.duplicates.labels("notification").inc()
                    continue
                ledger.record(
                    outcome.notification_id,
                    outcome.created_at.isoformat(),
                    event.message.partition,
                )
                await channel_topics[outcome.channel].send(
                    key=outcome.notification_id, value=outcome
                )
                metrics.notifications.labels(outcome.channel.value, outcome.kind.value).inc()
