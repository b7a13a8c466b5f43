"""``StaffProfile``: one entry of the staff directory (compacted topic ``staff-directory``)."""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from schemas.base import Contract
from schemas.codes import Channel, Code, Identifier, Language, Profession

EMAIL_PATTERN: Final = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
PHONE_PATTERN: Final = r"^\+[1-9][0-9]{6,14}$"
PERSON_NAME_PATTERN: Final = r"^[^\W\d_]+([ '.-][^\W\d_]+)*\.?$"

PersonName = Annotated[
    str, StringConstraints(pattern=PERSON_NAME_PATTERN, min_length=1, max_length=100)
]
"""A staff member's name as the directory holds it, for greetings and hand-off only."""

_ADDRESS_RULES: Final[dict[Channel, re.Pattern[str]]] = {
    Channel.EMAIL: re.compile(EMAIL_PATTERN),
    Channel.TEAMS: re.compile(EMAIL_PATTERN),  # the user principal name
    Channel.SMS: re.compile(PHONE_PATTERN),  # E.164
    Channel.SLACK: re.compile(r"^[UW][A-Z0-9]{2,20}$"),  # Slack member id
    Channel.WEBHOOK: re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$"),
    Channel.OUTBOX: re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$"),
}

ADDRESS_DESCRIPTIONS: Final[dict[Channel, str]] = {
    Channel.EMAIL: "an email address",
    Channel.TEAMS: "a Microsoft 365 user principal name (name@domain)",
    Channel.SMS: "a phone number in E.164 form, e.g. +4791234567",
    Channel.SLACK: "a Slack member id, e.g. U012AB3CD",
    Channel.WEBHOOK: "a recipient identifier",
    Channel.OUTBOX: "a recipient identifier",
}


def address_is_valid(channel: Channel, address: str) -> bool:
    """The whole address fits: ``re.match`` lets ``$`` match before a trailing newline, so a
    line break (header injection in an email, a second line in a webhook) would pass."""
    return len(address) <= 254 and _ADDRESS_RULES[channel].fullmatch(address) is not None


class ContactPoint(Contract):
    """One way to reach a person; a profile lists them in order of preference."""

    channel: Channel
    address: Annotated[str, StringConstraints(min_length=1, max_length=254)]

    @model_validator(mode="after")
    def _address_fits_channel(self) -> Self:
        if not address_is_valid(self.channel, self.address):
            raise ValueError(f"address must be {ADDRESS_DESCRIPTIONS[self.channel]}")
        return self


class StaffProfile(Contract):
    """A directory entry, keyed by ``staff_ref``; a tombstone (null value) removes it."""

    type: Literal["staff-profile"] = "staff-profile"
    version: Literal[1] = 1
    staff_ref: Identifier
    display_name: PersonName | None = None
    profession: Profession
    unit_code: Code
    manager_ref: Identifier | None = None
    channels: Annotated[tuple[ContactPoint, ...], Field(max_length=8)] = ()
    language: Language = Language.NB
    opted_out: bool = False

    @property
    def preferred(self) -> ContactPoint | None:
        return self.channels[0] if self.channels else None
