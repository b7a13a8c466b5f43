"""``StaffProfile``: one entry of the staff directory (compacted topic ``staff-directory``).

A contact address is checked and stored in one form here, whether it came from a directory
file or from LDAP: a phone number as E.164 (``+4791234567``), an e-mail address in the
normalised form of ``email-validator`` (internationalised domains included). Errors name
the rule an address breaks, never the address.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from typing import Annotated, Any, Final, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import Field, StringConstraints, ValidationError, ValidationInfo, field_validator

from schemas.base import Contract
from schemas.codes import Channel, Code, Identifier, Language, Profession

UPN_PATTERN: Final = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
PHONE_REGION_SETTING: Final = "PSB_DIRECTORY_PHONE_REGION"
PERSON_NAME_PATTERN: Final = r"^[^\W\d_]+([ '.-][^\W\d_]+)*\.?$"

PersonName = Annotated[
    str, StringConstraints(pattern=PERSON_NAME_PATTERN, min_length=1, max_length=100)
]
"""A staff member's name as the directory holds it, for greetings and hand-off only."""

_ADDRESS_RULES: Final[dict[Channel, re.Pattern[str]]] = {
    Channel.TEAMS: re.compile(UPN_PATTERN),  # the user principal name
    Channel.SLACK: re.compile(r"^[UW][A-Z0-9]{2,20}$"),  # Slack member id
    Channel.WEBHOOK: re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$"),
    Channel.OUTBOX: re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$"),
}

ADDRESS_DESCRIPTIONS: Final[dict[Channel, str]] = {
    Channel.EMAIL: "an email address, name@domain (the domain may be internationalised)",
    Channel.TEAMS: "a Microsoft 365 user principal name (name@domain)",
    Channel.SMS: "a phone number: + and country code, e.g. +4791234567, or a national "
    f"number of the country in {PHONE_REGION_SETTING}",
    Channel.SLACK: "a Slack member id, e.g. U012AB3CD",
    Channel.WEBHOOK: "a recipient identifier",
    Channel.OUTBOX: "a recipient identifier",
}

_PHONE_TEXT: Final = re.compile(r"[0-9 +().\-/]{1,40}")
_PHONE_LENGTH: Final = "address must have as many digits as a phone number of its country"
_PHONE_PARSE_RULES: Final = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "address must begin with + and "
    "a country code that exists, or be a national number of the country in "
    f"{PHONE_REGION_SETTING}",
}


class AddressRefused(ValueError):
    """Why an address was refused: the rule, never the address."""


def known_phone_region(value: str) -> str:
    """A region ``phonenumbers`` knows, such as ``NO`` or ``SE``."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("use a two-letter country code, such as NO or SE")
    return region


_region_source: Callable[[], str] | None = None


def read_phone_region_with(source: Callable[[], str]) -> None:
    """Name where :func:`default_phone_region` comes from. ``runtime.settings`` does, on
    import, with ``DirectorySettings``: settings build on this module, not the reverse."""
    global _region_source
    _region_source = source
    default_phone_region.cache_clear()


@functools.cache
def default_phone_region() -> str:
    """``PSB_DIRECTORY_PHONE_REGION``, read once: a directory file and the LDAP sync read
    national numbers the same way."""
    if _region_source is None:  # no process of ours validates before loading settings
        raise AddressRefused(
            f"address must begin with + and a country code: {PHONE_REGION_SETTING} "
            "was not read in this process"
        )
    try:
        return _region_source()
    except ValidationError:
        raise AddressRefused(
            f"{PHONE_REGION_SETTING} must be a two-letter country code, such as NO or SE"
        ) from None


def _phone(address: str, region: str | None) -> str:
    if _PHONE_TEXT.fullmatch(address) is None:
        raise AddressRefused(
            "address must be a phone number written with digits, spaces and + - . ( ) / only"
        )
    international = address.lstrip().startswith("+")
    try:
        number = phonenumbers.parse(
            address, None if international else region or default_phone_region()
        )
    except phonenumbers.NumberParseException as exc:
        raise AddressRefused(_PHONE_PARSE_RULES.get(exc.error_type, _PHONE_LENGTH)) from None
    if number.extension:
        raise AddressRefused("address must be a phone number without an extension")
    if not phonenumbers.is_possible_number(number):
        raise AddressRefused(_PHONE_LENGTH)
    if not phonenumbers.is_valid_number(number):
        raise AddressRefused(
            "address must be a phone number in use in its country's numbering plan"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


DOMAINS_CHECKED: Final = 1024
"""Distinct e-mail domains whose check is kept: a trust's staff use a handful."""


def _check_each_domain_once() -> None:
    """``validate_email`` checks the domain (IDNA, Unicode normalisation) of every address:
    three quarters of the cost of loading a directory, for a handful of distinct domains. That
    check depends on its arguments alone and its result is only read, so it is kept per
    domain. If a version of ``email-validator`` no longer calls it by this name, addresses
    are still checked in full, only slower."""
    module = importlib.import_module("email_validator.validate_email")
    check = getattr(module, "validate_email_domain_name", None)
    if callable(check) and not hasattr(check, "cache_info"):
        cached = functools.lru_cache(maxsize=DOMAINS_CHECKED)(check)
        module.validate_email_domain_name = cached  # type: ignore[attr-defined]


_check_each_domain_once()


def _email(address: str) -> str:
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:  # its message may quote the address
        raise AddressRefused(f"address must be {ADDRESS_DESCRIPTIONS[Channel.EMAIL]}") from None
    return str(checked.normalized)


@functools.lru_cache(maxsize=4096)  # every notification built or read checks its address
def ascii_email(address: str) -> str | None:
    """A stored e-mail address with its domain in IDNA (``xn--``) form, which a mail server
    without SMTPUTF8 accepts; None when the part before the @ is not ASCII."""
    try:
        return validate_email(address, check_deliverability=False).ascii_email
    except EmailNotValidError:
        return None


def normalize_address(channel: Channel, address: str, region: str | None = None) -> str:
    """The address as it is stored, or :class:`AddressRefused`. ``region`` reads a phone
    number without a country code (default: ``PSB_DIRECTORY_PHONE_REGION``). A line break
    is refused, never trimmed: in an e-mail header it would inject one."""
    if channel is Channel.SMS and region is None and not address.lstrip().startswith("+"):
        region = default_phone_region()
    return _normalized(channel, address, region)


@functools.lru_cache(maxsize=4096)  # every notification built or read checks its address
def _normalized(channel: Channel, address: str, region: str | None) -> str:
    if len(address) > 254 or any(ord(char) < 32 or ord(char) == 127 for char in address):
        raise AddressRefused(f"address must be {ADDRESS_DESCRIPTIONS[channel]}, on one line")
    if channel is Channel.SMS:
        return _phone(address, region)
    if channel is Channel.EMAIL:
        return _email(address)
    # fullmatch: ``re.match`` lets ``$`` match before a trailing newline
    if _ADDRESS_RULES[channel].fullmatch(address) is None:
        raise AddressRefused(f"address must be {ADDRESS_DESCRIPTIONS[channel]}")
    return address


def address_is_valid(channel: Channel, address: str) -> bool:
    """The address can be stored, in the form :func:`normalize_address` gives it."""
    try:
        normalize_address(channel, address)
    except AddressRefused:
        return False
    return True


def _context_region(info: ValidationInfo) -> str | None:
    context: Any = info.context
    return context.get("phone_region") if isinstance(context, dict) else None


class ContactPoint(Contract):
    """One way to reach a person; a profile lists them in order of preference. The address
    is stored normalised, so two spellings of one number are one address."""

    channel: Channel
    address: Annotated[str, StringConstraints(min_length=1, max_length=254)]

    @field_validator("address")
    @classmethod
    def _address_fits_channel(cls, address: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")
        if not isinstance(channel, Channel):  # the channel's own error says why
            return address
        return normalize_address(channel, address, _context_region(info))


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
