"""Turning one row of a directory file into a ``StaffProfile`` or ``SupporterProfile``.

A row comes from a CSV file (flat columns, one per channel) or an NDJSON file (the
contract's own JSON shape). A row that cannot be accepted gives a :class:`RowError` naming
the field and the rule it breaks, never the value: the file holds addresses and names, and
the error goes to a terminal or a log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.codes import Channel, Language, Profession
from schemas.staff import ADDRESS_DESCRIPTIONS, StaffProfile, address_is_valid
from schemas.supporter import SupporterProfile

STAFF_COLUMNS: Final = (
    "staff_ref",
    "display_name",
    "profession",
    "unit",
    "manager_ref",
    "language",
    "opted_out",
    *(channel.value for channel in Channel),
    "channel_order",
)
"""CSV columns of a staff file. Each channel column holds that channel's address; a person
is reached on the first channel that has an address, in ``channel_order`` when given
(e.g. ``sms email``), otherwise in the order of the columns."""

SUPPORTER_COLUMNS: Final = ("staff_ref", "scheme", "trained_until", "active", "capacity")
"""CSV columns of a supporters file."""

ModelT = TypeVar("ModelT", bound=BaseModel)

REQUIRED_STAFF: Final = ("staff_ref", "profession", "unit")
REQUIRED_SUPPORTER: Final = ("staff_ref", "scheme", "trained_until")

_CSV_TO_FIELD: Final = {"unit": "unit_code", "scheme": "scheme_id"}
_FIELD_TO_CSV: Final = {field: column for column, field in _CSV_TO_FIELD.items()}

RULES: Final[dict[str, str]] = {
    "staff_ref": "must be one token of letters, digits and ._:@/+- (at most 128 characters)",
    "manager_ref": "must be one token of letters, digits and ._:@/+- (at most 128 characters)",
    "display_name": "must be a person's name (letters, spaces, ' . -; at most 100 characters)",
    "profession": "must be one of: " + ", ".join(p.value for p in Profession),
    "unit": "must be a code: one token of letters, digits and ._:/+- (at most 64 characters)",
    "scheme": "must be a code: one token of letters, digits and ._:/+- (at most 64 characters)",
    "language": "must be one of: " + ", ".join(lang.value for lang in Language),
    "opted_out": "must be true or false (yes/no, 1/0)",
    "active": "must be true or false (yes/no, 1/0)",
    "trained_until": "must be a date, YYYY-MM-DD",
    "capacity": "must be a whole number from 1 to 50",
    "channel_order": "must list channels among: " + ", ".join(c.value for c in Channel),
    "channels": "must be a list of at most 8 {channel, address} entries",
    "type": "must be the record type of this file, or absent",
    "version": "must be 1, or absent",
}


@dataclass(frozen=True)
class RowError:
    """Why one line was refused: the field and the rule, never the value."""

    line: int
    field: str
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.rule}"


class RowRefused(Exception):
    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def _field_name(loc: tuple[int | str, ...], flat: bool) -> str:
    if not loc:
        return "row"
    head = str(loc[0])
    if head == "channels" and len(loc) > 1:
        return f"channels[{loc[1]}]"
    return _FIELD_TO_CSV.get(head, head) if flat else head


def _refusal(exc: ValidationError, flat: bool) -> RowRefused:
    """The first problem of a validation error, in words that never quote the input."""
    error = exc.errors(include_input=False, include_url=False)[0]
    loc = tuple(error["loc"])
    field = _field_name(loc, flat)
    if error["type"] == "missing":
        return RowRefused(field, "is required")
    if error["type"] == "extra_forbidden":
        return RowRefused(field, "is not a known field")
    if field.startswith("channels[") and error["type"] == "value_error":
        # our own message ("address must be ..."), which never contains the address
        return RowRefused(field, str(error["msg"]).removeprefix("Value error, "))
    rule = RULES.get(field) or RULES.get(str(loc[0]) if loc else "", "is not valid")
    return RowRefused(field, rule)


def _channels(row: dict[str, str]) -> list[dict[str, str]]:
    order_text = row.get("channel_order", "").replace(",", " ").split()
    try:
        order = [Channel(name) for name in order_text]
    except ValueError:
        raise RowRefused("channel_order", RULES["channel_order"]) from None
    order += [channel for channel in Channel if channel not in order]
    points = []
    for channel in order:
        address = row.get(channel.value, "")
        if not address:
            continue
        if not address_is_valid(channel, address):
            raise RowRefused(channel.value, f"must be {ADDRESS_DESCRIPTIONS[channel]}")
        points.append({"channel": channel.value, "address": address})
    return points


def staff_from_csv(row: dict[str, str]) -> StaffProfile:
    """A CSV row (column → stripped text; empty cells absent) as a profile."""
    for column in REQUIRED_STAFF:
        if not row.get(column):
            raise RowRefused(column, "is required")
    data: dict[str, Any] = {
        _CSV_TO_FIELD.get(column, column): row[column]
        for column in ("staff_ref", "display_name", "unit", "manager_ref")
        if row.get(column)
    }
    for column in ("profession", "language", "opted_out"):
        if row.get(column):
            data[column] = row[column].lower()
    data["channels"] = _channels(row)
    return _validated(StaffProfile, data, flat=True)


def supporter_from_csv(row: dict[str, str]) -> SupporterProfile:
    for column in REQUIRED_SUPPORTER:
        if not row.get(column):
            raise RowRefused(column, "is required")
    data: dict[str, Any] = {
        _CSV_TO_FIELD.get(column, column): row[column].lower()
        if column == "active"
        else row[column]
        for column in SUPPORTER_COLUMNS
        if row.get(column)
    }
    return _validated(SupporterProfile, data, flat=True)


def from_json_line(line: str, model: type[BaseModel]) -> BaseModel:
    """An NDJSON line in the contract's own shape."""
    try:
        data = json.loads(line)
    except ValueError:
        raise RowRefused("row", "is not a JSON object") from None
    if not isinstance(data, dict):
        raise RowRefused("row", "is not a JSON object")
    if not data.get("staff_ref"):
        raise RowRefused("staff_ref", "is required")
    return _validated(model, data, flat=False)


def _validated(model: type[ModelT], data: dict[str, Any], flat: bool) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _refusal(exc, flat) from None
