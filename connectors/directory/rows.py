"""Turning one row of a directory file into a ``StaffProfile`` or ``SupporterProfile``.

A row comes from a CSV file (flat columns, one per channel) or an NDJSON file (the
contract's own JSON shape). A row that cannot be accepted gives a :class:`RowError` for each
field it gets wrong, naming the field and the rule, never the value: the file holds
addresses and names, and the error goes to a terminal or a log.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
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
    """Every problem of one row as (field, rule), one per field: fixing a file should not
    take one run per mistake."""

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        first: dict[str, str] = {}
        for field, rule in problems:
            first.setdefault(field, rule)
        self.problems = tuple(first.items())
        super().__init__("; ".join(f"{field}: {rule}" for field, rule in self.problems))


def _field_name(loc: tuple[int | str, ...], flat: bool) -> str:
    if not loc:
        return "row"
    head = str(loc[0])
    if head == "channels" and len(loc) > 1:
        return f"channels[{loc[1]}]"
    return _FIELD_TO_CSV.get(head, head) if flat else head


def _problems(exc: ValidationError, flat: bool) -> list[tuple[str, str]]:
    """Every problem of a validation error, in words that never quote the input."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(error["loc"])
        field = _field_name(loc, flat)
        if error["type"] == "missing":
            problems.append((field, "is required"))
        elif error["type"] == "extra_forbidden":
            problems.append((field, "is not a known field"))
        elif field.startswith("channels[") and error["type"] == "value_error":
            # our own message ("address must be ..."), which never contains the address
            problems.append((field, str(error["msg"]).removeprefix("Value error, ")))
        else:
            head = str(loc[0]) if loc else ""
            rule = RULES.get(field) or RULES.get(_FIELD_TO_CSV.get(head, head), "is not valid")
            problems.append((field, rule))
    return problems


def _scheme_problem(
    scheme: object, field: str, schemes: Collection[str] | None
) -> list[tuple[str, str]]:
    """A supporter of a scheme the policy does not have would never be chosen."""
    if schemes is None or not isinstance(scheme, str) or not scheme or scheme in schemes:
        return []
    return [(field, "must be a scheme of the policy: " + ", ".join(sorted(schemes)))]


def _channels(row: dict[str, str]) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    """The contact points in order of preference, and the problems of the channel cells."""
    problems = []
    order: list[Channel] = []
    for name in row.get("channel_order", "").replace(",", " ").split():
        try:
            order.append(Channel(name))
        except ValueError:
            problems.append(("channel_order", RULES["channel_order"]))
    order += [channel for channel in Channel if channel not in order]
    points = []
    for channel in order:
        address = row.get(channel.value, "")
        if not address:
            continue
        if not address_is_valid(channel, address):
            problems.append((channel.value, f"must be {ADDRESS_DESCRIPTIONS[channel]}"))
        else:
            points.append({"channel": channel.value, "address": address})
    return points, problems


def staff_from_csv(row: dict[str, str]) -> StaffProfile:
    """A CSV row (column → stripped text; empty cells absent) as a profile."""
    data: dict[str, Any] = {
        _CSV_TO_FIELD.get(column, column): row[column]
        for column in ("staff_ref", "display_name", "unit", "manager_ref")
        if row.get(column)
    }
    for column in ("profession", "language", "opted_out"):
        if row.get(column):
            data[column] = row[column].lower()
    data["channels"], problems = _channels(row)
    return _validated(StaffProfile, data, STAFF_COLUMNS, problems)


def supporter_from_csv(
    row: dict[str, str], schemes: Collection[str] | None = None
) -> SupporterProfile:
    """``schemes``: the policy's scheme ids, when a supporter must belong to one of them."""
    data: dict[str, Any] = {
        _CSV_TO_FIELD.get(column, column): row[column].lower()
        if column == "active"
        else row[column]
        for column in SUPPORTER_COLUMNS
        if row.get(column)
    }
    problems = _scheme_problem(row.get("scheme"), "scheme", schemes)
    return _validated(SupporterProfile, data, SUPPORTER_COLUMNS, problems)


def from_json_line(
    line: str, model: type[BaseModel], schemes: Collection[str] | None = None
) -> BaseModel:
    """An NDJSON line in the contract's own shape."""
    try:
        data = json.loads(line)
    except ValueError:
        raise RowRefused([("row", "is not a JSON object")]) from None
    if not isinstance(data, dict):
        raise RowRefused([("row", "is not a JSON object")])
    problems = []
    if model is SupporterProfile:
        problems = _scheme_problem(data.get("scheme_id"), "scheme_id", schemes)
    return _validated(model, data, tuple(model.model_fields), problems, flat=False)


def _validated(
    model: type[ModelT],
    data: dict[str, Any],
    columns: Sequence[str],
    problems: list[tuple[str, str]],
    flat: bool = True,
) -> ModelT:
    """The entry, or every problem of the row in the order of its columns."""
    try:
        entry = model.model_validate(data)
    except ValidationError as exc:
        problems = [*_problems(exc, flat), *problems]
    else:
        if not problems:
            return entry

    def position(problem: tuple[str, str]) -> int:
        name = problem[0].split("[", 1)[0]
        return columns.index(name) if name in columns else len(columns)

    # a rule on the value of a field comes before "not a scheme of the policy"
    raise RowRefused(sorted(problems, key=position))
