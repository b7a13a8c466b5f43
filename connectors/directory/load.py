"""Loading a directory or supporters file: validate every row, then write the valid ones.

The file is read whole before anything is written, so a duplicate reference is caught
wherever it appears and ``--replace`` knows the complete set of people in the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path

from pydantic import BaseModel

from connectors.directory.rows import (
    STAFF_COLUMNS,
    SUPPORTER_COLUMNS,
    RowError,
    RowRefused,
    from_json_line,
    staff_from_csv,
    supporter_from_csv,
)
from connectors.directory.topic import publish, read_latest
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas.staff import StaffProfile
from schemas.supporter import SupporterProfile

MAX_ERRORS_SHOWN = 200


class FileFormatError(Exception):
    """The file as a whole cannot be read (unknown extension, unknown CSV columns)."""


class Kind(StrEnum):
    STAFF = "staff"
    SUPPORTERS = "supporters"

    @property
    def model(self) -> type[BaseModel]:
        return StaffProfile if self is Kind.STAFF else SupporterProfile

    @property
    def columns(self) -> tuple[str, ...]:
        return STAFF_COLUMNS if self is Kind.STAFF else SUPPORTER_COLUMNS

    def topic(self, topics: Topics) -> str:
        return topics.staff_directory if self is Kind.STAFF else topics.supporters


@dataclass
class Validated:
    """Valid entries by staff reference (in file order) and the refused lines."""

    entries: dict[str, BaseModel] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    lines: int = 0

    @property
    def refused(self) -> int:
        """Rows refused; a row may have several errors."""
        return len({error.line for error in self.errors})

    def summary(self) -> str:
        return f"{self.lines} rows read: {len(self.entries)} valid, {self.refused} refused"

    def error_lines(self, limit: int = MAX_ERRORS_SHOWN) -> list[str]:
        """The errors to show, at most ``limit`` and a count of the rest: a file with a
        shifted column would otherwise bury the terminal."""
        shown = [str(error) for error in self.errors[:limit]]
        if len(self.errors) > limit:
            shown.append(f"... and {len(self.errors) - limit} more")
        return shown

    def replace_blocker(self) -> str | None:
        """Why ``--replace`` removes no one, or None when it may: a refused row may be a
        person still employed, and an empty file is more likely a mistake than a closure."""
        if self.errors:
            return "some rows were refused"
        if not self.entries:
            return "the file lists no one"
        return None


@dataclass(frozen=True)
class LoadResult:
    validated: Validated
    written: int = 0
    removed: int = 0
    replace_skipped: bool = False


def _csv_rows(text: str, kind: Kind) -> Iterator[tuple[int, dict[str, str] | None]]:
    """(line, cells by column) per row; None for a row with more cells than the header."""
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in kind.columns]
    if unknown or not header:
        raise FileFormatError(
            f"unknown CSV column(s) {', '.join(unknown) or '(no header)'}; "
            f"expected among: {', '.join(kind.columns)}"
        )
    reader.fieldnames = header
    for values in reader:
        # the header is line 1; a quoted cell may span lines, so ask the reader
        if None in values:  # more cells than columns: an unquoted comma shifts every cell
            yield reader.line_num, None
            continue
        cells = {
            name: value.strip()
            for name, value in values.items()
            if isinstance(name, str) and isinstance(value, str) and value.strip()
        }
        yield reader.line_num, cells


def _refuse(field: str, rule: str) -> BaseModel:
    raise RowRefused([(field, rule)])


def validate_text(
    text: str, suffix: str, kind: Kind, schemes: Collection[str] | None = None
) -> Validated:
    """Validate a whole file's text; ``suffix`` is ``.csv`` or ``.ndjson``. With
    ``schemes`` (the policy's), a supporter of any other scheme is refused."""
    result = Validated()
    first_line: dict[str, int] = {}

    def accept(line: int, parse: Callable[[], BaseModel]) -> None:
        result.lines += 1
        try:
            entry = parse()
        except RowRefused as refused:
            result.errors += [RowError(line, field, rule) for field, rule in refused.problems]
            return
        ref = str(getattr(entry, "staff_ref"))  # noqa: B009 - both models have it
        if ref in first_line:
            result.errors.append(
                RowError(line, "staff_ref", f"duplicate of line {first_line[ref]}")
            )
            return
        first_line[ref] = line
        result.entries[ref] = entry

    if suffix == ".csv":
        parse_csv: Callable[[dict[str, str]], BaseModel] = (
            staff_from_csv if kind is Kind.STAFF else partial(supporter_from_csv, schemes=schemes)
        )
        for line, row in _csv_rows(text, kind):
            if row is None:
                accept(line, partial(_refuse, "row", "has more cells than the header has columns"))
            elif row:
                accept(line, partial(parse_csv, row))
    elif suffix in (".ndjson", ".jsonl"):
        for number, raw in enumerate(text.splitlines(), start=1):
            if raw.strip():
                accept(number, partial(from_json_line, raw, kind.model, schemes))
    else:
        raise FileFormatError("the file must end in .csv or .ndjson")
    return result


def validate_file(path: Path, kind: Kind, schemes: Collection[str] | None = None) -> Validated:
    """The one reader of directory files, for ``directory load`` and ``policy simulate``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise FileFormatError("the file is not UTF-8 text") from None
    return validate_text(text, path.suffix.lower(), kind, schemes)


def removals(validated: Validated, kind: Kind, kafka: KafkaSettings) -> list[str]:
    """Who is on the topic but not in the file: whom ``--replace`` tombstones."""
    topic = kind.topic(Topics(kafka.topic_prefix))
    return sorted(set(read_latest(kafka, topic)) - set(validated.entries))


def load(
    validated: Validated,
    kind: Kind,
    kafka: KafkaSettings,
    *,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Write the valid entries; with ``replace``, tombstone everyone on the topic who is
    not in the file — but only when every row was valid and there was at least one."""
    topic = kind.topic(Topics(kafka.topic_prefix))
    replace_skipped = replace and validated.replace_blocker() is not None
    gone = removals(validated, kind, kafka) if replace and not replace_skipped else []
    upserts = [(ref, entry.model_dump_json().encode()) for ref, entry in validated.entries.items()]
    written = publish(kafka, topic, upserts, gone, progress=progress)
    return LoadResult(
        validated,
        written=written - len(gone),
        removed=len(gone),
        replace_skipped=replace_skipped,
    )
