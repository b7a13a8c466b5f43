"""Hand-offs: an accepted offer reaches a peer supporter, or the scheme's coordinator.

The supporter is chosen by :func:`streams.policy.supporters.choose_supporter` among the
supporters of the person's scheme who can be reached on an enabled channel (never the
person's own line manager; same profession and another unit preferred; load spread by the
hand-offs each supporter received in the last :data:`~streams.agents.load.OPEN_FOR`, from
every worker: :mod:`streams.agents.load`). When nobody is free, the
scheme's coordinator gets the hand-off. The notification carries only what is needed to
make contact (``HandoffDetails``): name, preferred contact route, profession and language.
Nothing about the incident is known here, so nothing about it can be sent.

Idempotent across restarts: a ledger keyed by offer id remembers which offers were handed
off, and the notification id is derived from the offer, so a replayed or repeated accept
never reaches a second supporter. An accept older than the policy's ``retention.offers`` is
dropped: the ledger may have forgotten it was handed off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from runtime.logging import get_logger
from schemas import (
    Channel,
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
from streams.agents.load import OPEN_FOR, Assignment, LoadView, Pool
from streams.agents.skip import Skip, reachable
from streams.ledger import Ledger
from streams.metrics import WorkerMetrics
from streams.policy.routing import scheme_info
from streams.policy.supporters import Candidate, choose_supporter
from streams.ports import Directory, Emit, Out, Supporters, emitter

if TYPE_CHECKING:
    from streams.context import WorkerContext

log = get_logger("handoff")


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
    def __init__(
        self,
        *,
        made: Ledger[str],
        load: LoadView,
        emit: Emit,
        directory: Directory,
        supporters: Supporters,
        key: PseudonymKey,
        enabled_channels: frozenset[Channel],
        policy: Callable[[], Policy],
        clock: Callable[[], datetime],
        metrics: WorkerMetrics,
    ) -> None:
        self.made = made
        self.load = load
        # this worker's own hand-offs, until the load view shows them (read your writes)
        self.mine: dict[str, dict[str, datetime]] = {}
        self.legacy: Ledger[str] | None = None
        self.emit = emit
        self.directory = directory
        self.supporters = supporters
        self.key = key
        self.enabled_channels = enabled_channels
        self.policy = policy
        self.clock = clock
        self.metrics = metrics

    def open_handoffs(self, now: datetime) -> dict[str, int]:
        """Per supporter, the hand-offs of the last :data:`OPEN_FOR` made by any worker."""
        counts: dict[str, int] = {}
        for ref, load in self.load.items():
            counts[ref] = len(load.recent(now))
        for ref, handed in list(self.mine.items()):
            published = self.load.get(ref)
            seen = {} if published is None else published.handed
            unseen = {h: at for h, at in handed.items() if h not in seen and at > now - OPEN_FOR}
            if unseen:
                self.mine[ref] = unseen
                counts[ref] = counts.get(ref, 0) + len(unseen)
            else:
                del self.mine[ref]
        return counts

    def _reachable(self, profile: StaffProfile) -> ContactPoint | None:
        return next((p for p in profile.channels if p.channel in self.enabled_channels), None)

    def _candidates(self) -> Iterator[Candidate]:
        for pseudonym, supporter in self.supporters.items():
            profile = self.directory.get(pseudonym)
            if profile is not None and self._reachable(profile) is not None:
                yield Candidate(supporter=supporter, profile=profile, pseudonym=pseudonym)

    def notification_for(self, response: SupportResponse, now: datetime) -> Notification | Skip:
        """The hand-off for an accepted offer, or the reason there is none."""
        found = reachable(self.directory.get(response.person))
        if isinstance(found, Skip):
            return found
        person, contact = found
        accepted = Accepted(response.offer_id, response.person, person, contact)
        policy = self.policy()
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
        if chosen is not None and route is not None:
            return handoff_notification(
                self.key, accepted, route, chosen.profile, chosen.pseudonym, policy, now
            )
        return to_coordinator(self.key, accepted, policy, now) or Skip.NO_COORDINATOR

    def accepted(self, response: SupportResponse) -> None:
        metrics = self.metrics
        if response.offer_id in self.made:
            metrics.duplicates.labels("handoff").inc()
            return
        now = self.clock()
        policy = self.policy()
        expiry = response.answered_at + policy.retention.offers
        if expiry <= now:  # whether it was handed off may be forgotten already
            metrics.too_old.labels("answer").inc()
            return
        outcome = self.notification_for(response, now)
        if isinstance(outcome, Skip):
            metrics.handoffs.labels("none", outcome.value).inc()
            log.warning("no hand-off", offer_id=response.offer_id, reason=outcome.value)
            return
        # sent before it is recorded (the outbox sends outputs before the ledgers): a stop
        # between them repeats the hand-off, never loses it
        self.emit(Out.NOTIFICATIONS, outcome.notification_id, outcome)
        self.made.put(response.offer_id, now.isoformat(), expiry)
        route = "coordinator" if outcome.recipient_ref.startswith("coordinator:") else "supporter"
        if route == "supporter":
            supporter = outcome.recipient_ref
            handoff = derive_id(self.key, "hof", response.offer_id)
            self.emit(
                Out.ASSIGNMENTS, supporter, Assignment(supporter=supporter, handoff=handoff, at=now)
            )
            self.mine.setdefault(supporter, {})[handoff] = now
        metrics.handoffs.labels(route, "sent").inc()
        metrics.notifications.labels(outcome.channel.value, outcome.kind.value).inc()
        log.info("handed off", offer_id=response.offer_id, kind=route, channel=outcome.channel)

    def forget(self, person: str) -> int:
        """A leaver who was a supporter: what this worker knows of their load goes (the
        partition that counts it tombstones it for everyone:
        :meth:`streams.agents.load.Loads.forget`)."""
        removed = int(self.mine.pop(person, None) is not None)
        if self.legacy is not None:
            removed += int(self.legacy.remove(person))
        return removed


def register(ctx: WorkerContext, pool: Pool) -> Handoffs:
    """Its answers come from the responses agent (:mod:`streams.agents.answers`)."""
    handoffs = Handoffs(
        made=ctx.ledger("handoffs-made"),
        load=pool.load,
        emit=emitter(ctx.topics, ctx.outbox),
        directory=ctx.directory,
        supporters=pool,
        key=ctx.key,
        enabled_channels=ctx.enabled_channels,
        policy=lambda: ctx.policy.current,
        clock=ctx.clock,
        metrics=ctx.metrics,
    )
    # the per-worker counts of earlier releases: read by nothing, kept declared so the sweep
    # forgets them with their changelog (within OPEN_FOR) and forgetting a leaver finds them
    handoffs.legacy = ctx.ledger("supporter-load")
    return handoffs
