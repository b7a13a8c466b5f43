"""Who is offered support for a signal, and when: the policy's triggers, roles and timing."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from schemas import Actuality, IncidentSignal, StaffRole, SupportOffer
from schemas.boundary import PseudonymKey, derive_id
from schemas.policy import Policy
from streams.policy.timing import offer_due


class Suppressed(StrEnum):
    """Why a signal, or one person in it, gets no offer."""

    BELOW_MINIMUM_SEVERITY = "below-minimum-severity"
    UNKNOWN_SEVERITY = "unknown-severity"
    NEAR_MISS = "near-miss"
    CATEGORY = "category"
    UNIT = "unit"
    TOO_OLD = "too-old"
    ROLE = "role"
    UNKNOWN_STAFF = "unknown-staff"


@dataclass(frozen=True)
class Decision:
    offers: tuple[SupportOffer, ...]
    suppressed: tuple[tuple[StaffRole, Suppressed], ...]


def offer_id_for(key: PseudonymKey, incident: str, person: str) -> str:
    return derive_id(key, "off", incident, person)


def signal_suppression(signal: IncidentSignal, policy: Policy, now: datetime) -> Suppressed | None:
    triggers = policy.triggers
    if now - signal.reported_at > triggers.max_report_age:
        return Suppressed.TOO_OLD
    if signal.severity is None:
        if not triggers.unknown_severity:
            return Suppressed.UNKNOWN_SEVERITY
    elif signal.severity.rank < triggers.minimum_severity.rank:
        return Suppressed.BELOW_MINIMUM_SEVERITY
    if signal.actuality is Actuality.POTENTIAL and not triggers.near_misses:
        return Suppressed.NEAR_MISS
    if not triggers.categories.admits_any(signal.category_codes):
        return Suppressed.CATEGORY
    if not triggers.units.admits(signal.unit_code):
        return Suppressed.UNIT
    return None


def role_offered(role: StaffRole, policy: Policy) -> bool:
    return bool(getattr(policy.roles, role.value))


def decide(
    signal: IncidentSignal,
    policy: Policy,
    now: datetime,
    key: PseudonymKey,
    known: Container[str],
) -> Decision:
    """The offers a signal produces under ``policy`` at ``now``, and who was left out why.

    ``known`` holds the staff pseudonyms of the directory: someone it does not know gets no
    offer, and nothing about them is kept."""
    reason = signal_suppression(signal, policy, now)
    if reason is not None:
        return Decision((), tuple((involved.role, reason) for involved in signal.staff))
    due = offer_due(signal.reported_at, now, policy.timing)
    offers: list[SupportOffer] = []
    suppressed: list[tuple[StaffRole, Suppressed]] = []
    for involved in signal.staff:
        if not role_offered(involved.role, policy):
            suppressed.append((involved.role, Suppressed.ROLE))
            continue
        if involved.person not in known:
            suppressed.append((involved.role, Suppressed.UNKNOWN_STAFF))
            continue
        offers.append(
            SupportOffer(
                offer_id=offer_id_for(key, signal.incident, involved.person),
                incident=signal.incident,
                person=involved.person,
                role=involved.role,
                reported_at=signal.reported_at,
                created_at=now,
                due_at=due,
                policy_version=policy.version,
            )
        )
    return Decision(tuple(offers), tuple(suppressed))
