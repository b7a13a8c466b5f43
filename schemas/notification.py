"""``Notification``: one message to one person on one channel."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal, Self

from pydantic import AwareDatetime, StringConstraints, model_validator

from schemas.base import Contract
from schemas.codes import (
    CODE_PATTERN,
    STAFF_PSEUDONYM_PATTERN,
    Channel,
    Code,
    ConfigText,
    Language,
    OpaqueId,
    Profession,
    StaffPseudonym,
)
from schemas.staff import ADDRESS_DESCRIPTIONS, PersonName, address_is_valid

RECIPIENT_PATTERN: Final = f"^(?:{STAFF_PSEUDONYM_PATTERN[1:-1]}|coordinator:{CODE_PATTERN[1:-1]})$"
RecipientRef = Annotated[str, StringConstraints(pattern=RECIPIENT_PATTERN)]
"""A staff pseudonym, or ``coordinator:<scheme id>`` for a scheme's coordinator."""


class NotificationKind(StrEnum):
    OFFER = "offer"
    REMINDER = "reminder"
    HANDOFF = "handoff"


class ResourceInfo(Contract):
    name: ConfigText
    contact: ConfigText


class SchemeInfo(Contract):
    """The scheme that fits the recipient's profession, in the recipient's language, as the
    policy describes it (never text from a report)."""

    scheme_id: Code
    name: ConfigText
    contact: ConfigText
    resources: tuple[ResourceInfo, ...] = ()


class HandoffDetails(Contract):
    """What a peer supporter needs to make contact after an offer was accepted: the person's
    name, preferred contact route, profession and language. Nothing about the incident."""

    person: StaffPseudonym
    display_name: PersonName | None = None
    contact_channel: Channel
    contact_address: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    profession: Profession
    language: Language

    @model_validator(mode="after")
    def _address_fits_channel(self) -> Self:
        if not address_is_valid(self.contact_channel, self.contact_address):
            raise ValueError(f"address must be {ADDRESS_DESCRIPTIONS[self.contact_channel]}")
        return self


class Notification(Contract):
    """A message on ``notifications.<channel>``, keyed by ``notification_id``.

    ``notification_id`` is the idempotency key: derived from the offer, the kind and the
    channel, so a redelivered or replayed notification carries the same key and a sink can
    recognise it. Nothing about the incident is here: no date, unit, category or text.
    """

    type: Literal["notification"] = "notification"
    version: Literal[1] = 1
    notification_id: OpaqueId
    offer_id: OpaqueId
    kind: NotificationKind
    channel: Channel
    address: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    recipient_ref: RecipientRef
    display_name: PersonName | None = None
    language: Language
    profession: Profession
    scheme: SchemeInfo | None = None
    handoff: HandoffDetails | None = None
    """Set on ``kind == handoff`` only: the person who accepted, for the supporter."""
    policy_version: Code
    created_at: AwareDatetime

    @model_validator(mode="after")
    def _address_fits_channel(self) -> Self:
        if not address_is_valid(self.channel, self.address):
            raise ValueError(f"address must be {ADDRESS_DESCRIPTIONS[self.channel]}")
        if (self.kind is NotificationKind.HANDOFF) != (self.handoff is not None):
            raise ValueError("handoff details belong on hand-off notifications only")
        return self
