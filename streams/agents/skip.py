"""Why an offer or a hand-off produced no notification: one list of reason codes, used by
dispatch and hand-offs, the metrics labels (``psb_not_notified_total``,
``psb_handoffs_total``) and ``peer-support simulate``."""

from __future__ import annotations

from enum import StrEnum

from schemas import Channel, StaffProfile
from schemas.staff import ContactPoint


class Skip(StrEnum):
    UNKNOWN_STAFF = "unknown-staff"
    OPTED_OUT = "opted-out"
    NO_CHANNEL = "no-channel"
    NO_COORDINATOR = "no-coordinator"
    """An accepted offer found no supporter, and the scheme names no coordinator."""


def reachable(
    profile: StaffProfile | None, enabled: frozenset[Channel] | None = None
) -> tuple[StaffProfile, ContactPoint] | Skip:
    """The person and their first contact point on an enabled channel (``None``: their
    preferred one, whatever the channel), or why there is none."""
    if profile is None:
        return Skip.UNKNOWN_STAFF
    if profile.opted_out:
        return Skip.OPTED_OUT
    if enabled is None:
        contact = profile.preferred
    else:
        contact = next((point for point in profile.channels if point.channel in enabled), None)
    return Skip.NO_CHANNEL if contact is None else (profile, contact)
