"""The quality department's policy: who is offered peer support, when, and by which scheme.

One YAML file (see ``default.yaml``), validated by these models. Every offer carries the
``version`` of the policy that produced it.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema

from schemas.base import Contract
from schemas.boundary.identifying import identifying_reason
from schemas.codes import Channel, Code, ConfigText, Language, Profession, Severity
from schemas.staff import normalize_address

DURATION_PATTERN: Final = r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd])\s*$"
"""A duration as the policy file writes it, ``90m``, ``2h``, ``14d``; JSON Schema reads the
same pattern, so an editor checks what the worker accepts."""
CLOCK_PATTERN: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
"""A local time of day, ``"21:00"`` (or ``"21:00:30"``), quoted in the file."""

_DURATION: Final = re.compile(DURATION_PATTERN)
_CLOCK: Final = re.compile(CLOCK_PATTERN)
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: Any) -> Any:
    """``"90m"``, ``"2h"``, ``"3d"`` (or anything pydantic reads as a timedelta)."""
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match is None:
            raise ValueError("use a number and a unit: s, m, h or d (for example 2h or 3d)")
        return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
    return value


def format_duration(value: timedelta) -> str:
    """The way the policy file writes it: ``2h``, ``3d``, ``90m``, ``4s``."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{int(seconds // _UNIT_SECONDS[unit])}{unit}"
    return f"{seconds:g}s"


def _clock(value: Any) -> Any:
    """Only ``HH:MM`` text: YAML reads an unquoted ``21:00`` as the number 1260, which
    pydantic would take for 00:21 in UTC, and an offset means nothing beside the policy's
    own time zone."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _CLOCK.fullmatch(value):
        return time.fromisoformat(value)
    raise ValueError('write a time of day in quotes as HH:MM, for example "21:00"')


def format_clock(value: time) -> str:
    """The way the policy file writes it: ``21:00``, or ``21:00:30`` with seconds."""
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["2h", "3d"]}),
]
ClockTime = Annotated[
    time,
    BeforeValidator(_clock),
    PlainSerializer(format_clock, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": CLOCK_PATTERN, "examples": ["21:00"]}),
]


class PolicyJsonSchema(GenerateJsonSchema):
    """Writes a duration or a time default the way the policy file does (``1h``, ``08:00``),
    not as ISO 8601 (``PT1H``, ``08:00:00``), which the policy file does not accept."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        if isinstance(dft, time):
            return format_clock(dft)
        return super().encode_default(dft)


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Monday is 0, as ``datetime.weekday()``."""
        return list(Weekday).index(self)


class Localized(Contract):
    """A text in Norwegian Bokmål, and optionally Nynorsk and English (else Bokmål is used)."""

    nb: ConfigText
    nn: ConfigText | None = None
    en: ConfigText | None = None

    def text(self, language: Language) -> str:
        return getattr(self, language.value) or self.nb


def in_language(text: str | Localized, language: Language) -> str:
    """A text that is the same in every language (an address, a number), or a localized one."""
    return text if isinstance(text, str) else text.text(language)


def _not_identifying(codes: tuple[str, ...]) -> tuple[str, ...]:
    for position, code in enumerate(codes):
        reason = identifying_reason(code)
        if reason is not None:  # the code itself is not quoted: it may be what is refused
            raise ValueError(
                f"code number {position + 1} looks like a {reason.value.replace('-', ' ')}; "
                "a code must not identify a person"
            )
    return codes


class CodeFilter(Contract):
    """Codes to include (empty: all) and codes to exclude (wins over include)."""

    include: tuple[Code, ...] = ()
    exclude: tuple[Code, ...] = ()

    _include_safe = field_validator("include")(_not_identifying)
    _exclude_safe = field_validator("exclude")(_not_identifying)

    def admits(self, code: str | None) -> bool:
        if code is not None and code in self.exclude:
            return False
        return not self.include or code in self.include

    def admits_any(self, codes: tuple[str, ...]) -> bool:
        if any(code in self.exclude for code in codes):
            return False
        return not self.include or any(code in self.include for code in codes)


class Triggers(Contract):
    minimum_severity: Severity = Severity.NONE
    unknown_severity: bool = Field(
        True, description="Offer support when a report states no severity."
    )
    near_misses: bool = Field(True, description="Offer support after near misses too.")
    max_report_age: Duration = Field(
        timedelta(days=14),
        description="Reports older than this (a backfill, a late replay) produce no offers.",
    )
    categories: CodeFilter = CodeFilter()
    units: CodeFilter = CodeFilter()


class Roles(Contract):
    reporter: bool = True
    involved: bool = True
    witness: bool = False

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if not (self.reporter or self.involved or self.witness):
            raise ValueError("offer support to at least one role: reporter, involved or witness")
        return self


class QuietHours(Contract):
    """Local times between which nothing is sent; may wrap midnight (21:00 to 07:30)."""

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end times")
        return self


class Reminder(Contract):
    enabled: bool = True
    after: Duration = Field(timedelta(days=3), description="Wait after the offer was sent.")

    @field_validator("after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("the reminder must come after the offer: use a positive duration")
        return value


class WorkingHours(Contract):
    days: tuple[Weekday, ...] = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
    start: ClockTime = time(8, 0)
    end: ClockTime = time(16, 0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.days:
            raise ValueError("working hours need at least one day")
        if self.end <= self.start:
            raise ValueError("working hours must end after they start, on the same day")
        return self


class Timing(Contract):
    timezone: str = "Europe/Oslo"
    delay: Duration = Field(
        timedelta(hours=1), description="Wait after the report before the offer goes out."
    )
    quiet_hours: QuietHours | None = QuietHours(start=time(21, 0), end=time(7, 30))
    reminder: Reminder = Reminder()
    working_hours: WorkingHours = WorkingHours()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("use an IANA time zone name such as Europe/Oslo") from None
        return value

    @field_validator("delay")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("the delay cannot be negative")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Resource(Contract):
    """Help offered to everyone, also to those who decline peer support."""

    name: Localized
    contact: ConfigText | Localized = Field(
        description="An address, number or link; or a text per language (nb, nn, en)."
    )


class Coordinator(Contract):
    """Where accepted offers go when no supporter is free."""

    channel: Channel
    address: ConfigText

    @field_validator("address")
    @classmethod
    def _address_fits_channel(cls, address: str, info: ValidationInfo) -> str:
        """Stored as the directory stores it, so a hand-off reaches the same address."""
        channel = info.data.get("channel")
        return normalize_address(channel, address) if isinstance(channel, Channel) else address


class Scheme(Contract):
    id: Code
    name: Localized
    professions: tuple[Profession, ...] = ()
    default: bool = Field(False, description="Serves every profession no other scheme names.")
    owner: ConfigText
    contact: ConfigText | Localized = Field(
        description="An address, number or link; or a text per language (nb, nn, en)."
    )
    coordinator: Coordinator | None = None
    resources: tuple[Resource, ...] = ()
    first_contact_within: Duration = Field(
        timedelta(hours=24), description="Target time to first contact, in working hours."
    )


LocalCode = Annotated[Code, Field(description="A code of the installation's own code list.")]


class LocalCodes(Contract):
    """Codes of the reporting system that may cross the boundary besides the standard FHIR
    AdverseEvent categories. A unit also passes when someone in the staff directory
    belongs to it; codes named in ``triggers`` count as declared too."""

    categories: tuple[LocalCode, ...] = ()
    units: tuple[LocalCode, ...] = ()

    _categories_safe = field_validator("categories")(_not_identifying)
    _units_safe = field_validator("units")(_not_identifying)


class Retention(Contract):
    """How long the worker remembers what it did (GDPR art. 5(1)(e), storage limitation)."""

    offers: Duration = Field(
        timedelta(days=45),
        description="How long an offer, its reminders, answers and hand-off are remembered "
        "after the offer was made; after that nothing about it is kept, and a replay of it "
        "is too old to make an offer.",
    )
    evaluation_months: int = Field(
        24, ge=1, le=120, description="Months the anonymous evaluation figures are kept."
    )


class SupporterSelection(Contract):
    """How a peer supporter is chosen. The person's own line manager is never chosen."""

    same_profession: bool = True
    other_unit: bool = True


class Policy(Contract):
    version: Code
    owner: ConfigText
    triggers: Triggers = Triggers()
    roles: Roles = Roles()
    timing: Timing = Timing()
    schemes: Annotated[tuple[Scheme, ...], Field(min_length=1)]
    supporter_selection: SupporterSelection = SupporterSelection()
    codes: LocalCodes = LocalCodes()
    retention: Retention = Retention()

    @model_validator(mode="after")
    def _offers_remembered_long_enough(self) -> Self:
        needed = self.minimum_offer_retention()
        if self.retention.offers < needed:
            raise ValueError(
                f"retention.offers must be at least {format_duration(needed)}, the longest "
                "of triggers.max_report_age and timing.delay plus two reminder intervals "
                "and two days, so no replay is offered again and no reminder is lost"
            )
        return self

    def minimum_offer_retention(self) -> timedelta:
        follow_up = self.timing.delay + 2 * self.timing.reminder.after + timedelta(days=2)
        return max(self.triggers.max_report_age, follow_up)

    def declared_categories(self) -> frozenset[str]:
        filters = self.triggers.categories
        return frozenset((*self.codes.categories, *filters.include, *filters.exclude))

    def declared_units(self) -> frozenset[str]:
        filters = self.triggers.units
        return frozenset((*self.codes.units, *filters.include, *filters.exclude))

    @model_validator(mode="after")
    def _every_profession_has_one_scheme(self) -> Self:
        ids = [scheme.id for scheme in self.schemes]
        repeated = sorted({scheme_id for scheme_id in ids if ids.count(scheme_id) > 1})
        if repeated:
            raise ValueError(f"scheme ids must be unique; repeated: {', '.join(repeated)}")
        defaults = [scheme.id for scheme in self.schemes if scheme.default]
        if len(defaults) > 1:
            raise ValueError(
                f"at most one scheme can be the default; defaults: {', '.join(defaults)}"
            )
        claimed: dict[Profession, str] = {}
        for scheme in self.schemes:
            for profession in scheme.professions:
                if profession in claimed:
                    raise ValueError(
                        f"profession {profession.value} is in two schemes "
                        f"({claimed[profession]} and {scheme.id}); give it to one"
                    )
                claimed[profession] = scheme.id
        uncovered = [p.value for p in Profession if p not in claimed]
        if uncovered and not defaults:
            raise ValueError(
                "no scheme serves " + ", ".join(uncovered) + "; add them to a scheme "
                "or mark one scheme with default: true"
            )
        return self

    def scheme_for(self, profession: Profession) -> Scheme:
        for scheme in self.schemes:
            if profession in scheme.professions:
                return scheme
        return next(scheme for scheme in self.schemes if scheme.default)

    def scheme(self, scheme_id: str) -> Scheme | None:
        return next((scheme for scheme in self.schemes if scheme.id == scheme_id), None)
