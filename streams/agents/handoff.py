"""Agent ``handoff``: an accepted offer reaches a peer supporter, or the scheme's coordinator.

The supporter is chosen by :func:`streams.policy.supporters.choose_supporter` among the
supporters of the person's scheme who can be reached on an enabled channel (never the
person's own line manager; same profession and another unit preferred; load spread by the
hand-offs each supporter received in the last :data:`OPEN_FOR`). When nobody is free, the
scheme's coordinator gets the hand-off. The notification carries only what is needed to
make contact (``HandoffDetails``): name, preferred contact route, profession and language.
Nothing about the incident is known here, so nothing about it can be sent.

Idempotent across restarts: a ledger keyed by offer id remembers which offers were handed
off, and the notification id is derived from the offer, so a replayed or repeated accept
never reaches a second supporter. An accept older than the policy's ``retention.offers`` is
dropped: the ledger may have forgotten it was handed off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from runtime.logging import get_logger
from schemas import (
    Answer,
    HandoffDetails,
    Language,
    Notification,
    NotificationKind,
    StaffProfile,
    SupportResponse,
)
from schemas.boundary import PseudonymKey, derive_id
from schemas.policy import Policy, Scheme
from schemas.staff import ContactPoint
from streams.context import WorkerContext
from streams.ledger import Ledger
from streams.policy.routing import scheme_info
from streams.policy.supporters import Candidate, choose_supporter

log = get_logger("handoff")

OPEN_FOR: Final = timedelta(days=14)
"""How long a hand-off counts against a supporter's capacity (no closing event exists)."""


def coordinator_ref(scheme: Scheme) -> str:
    return f"coordinator:{scheme.id}"


@dataclass(frozen=True)
class Accepted:
    """Who accepted which offer, and how they want to be contacted."""

    offer_id: str
    pseudonym: str
    profile: StaffProfile
    contact: ContactPoint

    def details(self) -> HandoffDetails:
        return HandoffDetails(
            person=self.pseudonym,
            display_name=self.profile.display_name,
            contact_channel=self.contact.channel,
            contact_address=self.contact.address,
            profession=self.profile.profession,
            language=self.profile.language,
        )


def handoff_notification(
    key: PseudonymKey,
    accepted: Accepted,
    route: ContactPoint,
    recipient: StaffProfile | None,
    recipient_ref: str,
    policy: Policy,
    now: datetime,
) -> Notification:
    """To a supporter (``recipient``) or, without one, a scheme's coordinator, who is
    written to in Bokmål and seen through the person's profession."""
    language = recipient.language if recipient is not None else Language.NB
    profession = accepted.profile.profession
    return Notification(
        notification_id=derive_id(
            key, "ntf", accepted.offer_id, NotificationKind.HANDOFF.value, route.channel
        ),
        offer_id=accepted.offer_id,
        kind=NotificationKind.HANDOFF,
        channel=route.channel,
        address=route.address,
        recipient_ref=recipient_ref,
        display_name=recipient.display_name if recipient is not None else None,
        language=language,
        profession=recipient.profession if recipient is not None else profession,
        scheme=scheme_info(policy, profession, language),
        handoff=accepted.details(),
        policy_version=policy.version,
        created_at=now,
    )


def to_coordinator(
    key: PseudonymKey, accepted: Accepted, policy: Policy, now: datetime
) -> Notification | None:
    scheme = policy.scheme_for(accepted.profile.profession)
    if scheme.coordinator is None:
        return None
    route = ContactPoint(channel=scheme.coordinator.channel, address=scheme.coordinator.address)
    return handoff_notification(key, accepted, route, None, coordinator_ref(scheme), policy, now)


class Handoffs:
    def __init__(self, ctx: WorkerContext, made: Ledger, load: Ledger) -> None:
        self.ctx = ctx
        self.made = made
        self.load = load  # supporter pseudonym -> when they were handed someone, recently

    def _recent(self, supporter: str, now: datetime) -> list[str]:
        raw = self.load.get(supporter)
        stamps: list[str] = json.loads(raw) if raw else []
        return [s for s in stamps if datetime.fromisoformat(s) > now - OPEN_FOR]

    def open_handoffs(self, now: datetime) -> dict[str, int]:
        return {ref: len(self._recent(ref, now)) for ref in self.load.references()}

    def _reachable(self, profile: StaffProfile) -> ContactPoint | None:
        return next((p for p in profile.channels if p.channel in self.ctx.enabled_channels), None)

    def _candidates(self) -> Iterator[Candidate]:
        for pseudonym, supporter in self.ctx.supporters.items():
            profile = self.ctx.directory.get(pseudonym)
            if profile is not None and self._reachable(profile) is not None:
                yield Candidate(supporter=supporter, profile=profile, pseudonym=pseudonym)

    def notification_for(self, response: SupportResponse, now: datetime) -> Notification | str:
        """The hand-off for an accepted offer, or the reason there is none."""
        person = self.ctx.directory.get(response.person)
        if person is None:
            return "unknown-staff"
        if person.opted_out:
            return "opted-out"
        contact = person.preferred
        if contact is None:
            return "no-channel"
        accepted = Accepted(response.offer_id, response.person, person, contact)
        policy = self.ctx.policy.current
        scheme = policy.scheme_for(person.profession)
        today = now.astimezone(policy.timing.zone).date()
        chosen = choose_supporter(
            person,
            scheme.id,
            self._candidates(),
            self.open_handoffs(now),
            policy.supporter_selection,
            today,
        )
        route = None if chosen is None else self._reachable(chosen.profile)
        key = self.ctx.key
        if chosen is not None and route is not None:
            return handoff_notification(
                key, accepted, route, chosen.profile, chosen.pseudonym, policy, now
            )
        return to_coordinator(key, accepted, policy, now) or "no-coordinator"

    async def accepted(self, response: SupportResponse, partition: int) -> None:
        ctx = self.ctx
        if response.offer_id in self.made:
            ctx.metrics.duplicates.labels("handoff").inc()
            return
        now = ctx.clock()
        policy = ctx.policy.current
        expiry = response.answered_at + policy.retention.offers
        if expiry <= now:  # whether it was handed off may be forgotten already
            ctx.metrics.too_old.labels("answer").inc()
            return
        outcome = self.notification_for(response, now)
        if isinstance(outcome, str):
            ctx.metrics.handoffs.labels("none", outcome).inc()
            log.warning("no hand-off", offer_id=response.offer_id, reason=outcome)
            return
        # sent before it is recorded (the outbox sends outputs before the ledgers): a stop
        # between them repeats the hand-off, never loses it
        ctx.send_notification(outcome)
        self.made.record(response.offer_id, now.isoformat(), partition, expiry)
        route = "coordinator" if outcome.recipient_ref.startswith("coordinator:") else "supporter"
        if route == "supporter":
            recent = [*self._recent(outcome.recipient_ref, now), now.isoformat()]
            self.load.record(outcome.recipient_ref, json.dumps(recent), partition, now + OPEN_FOR)
        ctx.metrics.handoffs.labels(route, "sent").inc()
        ctx.metrics.notifications.labels(outcome.channel.value, outcome.kind.value).inc()
        log.info("handed off", offer_id=response.offer_id, kind=route, channel=outcome.channel)


def register(ctx: WorkerContext, responses: Any) -> Handoffs:
    app = ctx.app
    made = ctx.ledger("handoffs-made")
    load = ctx.ledger("supporter-load")
    handoffs = Handoffs(ctx, made, load)

    @app.agent(responses, name="handoff")
    async def handoff_agent(stream: Any) -> None:
        async for event in stream.events():
            response: SupportResponse = event.value
            if response.answer is not Answer.ACCEPT:
                continue
            await ctx.directory.ready.wait()
            await ctx.supporters.ready.wait()
            await handoffs.accepted(response, event.message.partition)
            await ctx.outbox.flush()

    return handoffs
