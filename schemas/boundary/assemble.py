"""The last step every format shares: merge roles, keep known codes, build the signal."""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from schemas.boundary.errors import BoundaryError
from schemas.boundary.identifying import identifying_reason
from schemas.boundary.pseudonym import PseudonymKey, pseudonymize, pseudonymize_staff
from schemas.boundary.vocabulary import Vocabulary
from schemas.codes import (
    ROLE_PRECEDENCE,
    Actuality,
    Seriousness,
    Severity,
    SourceFormat,
    StaffRole,
    code_lookup,
    is_code,
)
from schemas.dead_letter import Reason
from schemas.signal import MAX_CATEGORIES, MAX_STAFF, IncidentSignal

_RANK: Final = {role: rank for rank, role in enumerate(ROLE_PRECEDENCE)}
# ``IncidentSignal.model_validate`` without its Python wrapper: the same validator.
_validate_signal: Final = IncidentSignal.__pydantic_validator__.validate_python


class CopiedField(StrEnum):
    """A signal field whose value the boundary copies, and may drop."""

    SOURCE_SYSTEM = "source_system"
    UNIT_CODE = "unit_code"
    CATEGORY_CODES = "category_codes"
    SEVERITY = "severity"
    SERIOUSNESS = "seriousness"
    ACTUALITY = "actuality"


@dataclass(frozen=True)
class Drop:
    """A value the boundary did not copy: which field, and why (never the value)."""

    field: CopiedField
    reason: Reason


def merge_staff(entries: Iterable[tuple[str | None, StaffRole]]) -> dict[str, StaffRole]:
    """One entry per person, in first-seen order, with the strongest of their roles.
    Entries without a staff reference (not staff) are skipped."""
    best: dict[str, StaffRole] = {}
    for staff_ref, role in entries:
        if staff_ref is None:
            continue
        current = best.get(staff_ref)
        if current is None or _RANK[role] < _RANK[current]:
            best[staff_ref] = role
    if len(best) > MAX_STAFF:
        raise BoundaryError(Reason.TOO_MANY, "staff")
    return best


actuality_of = code_lookup(Actuality)


class Copier:
    """Copies a value only if it is a known code that identifies nobody; counts the rest."""

    __slots__ = ("drops", "vocabulary")

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.drops: list[Drop] = []

    @staticmethod
    def _refusal(value: str, known_in: Container[str]) -> Reason | None:
        if not is_code(value):
            return Reason.INVALID_IDENTIFIER
        reason = identifying_reason(value)  # belt and braces: even a declared code
        if reason is None and value not in known_in:
            reason = Reason.UNKNOWN_CODE
        return reason

    def code(self, field: CopiedField, value: str | None, known_in: Container[str]) -> str | None:
        if value is None:
            return None
        reason = self._refusal(value, known_in)
        if reason is None:
            return value
        self.drops.append(Drop(field, reason))
        return None

    def categories(self, values: Iterable[str | None]) -> tuple[str, ...]:
        known = self.vocabulary.categories
        kept = (self.code(CopiedField.CATEGORY_CODES, value, known) for value in values)
        return tuple(dict.fromkeys(code for code in kept if code is not None))[:MAX_CATEGORIES]

    def enum(self, field: CopiedField, raw: object, member: object) -> None:
        """Note a coded value that maps to no member of its value set."""
        if raw is not None and member is None:
            self.drops.append(Drop(field, Reason.UNKNOWN_CODE))


@dataclass(frozen=True)
class Projection:
    """What the boundary made of a report: the signal, and what it dropped."""

    signal: IncidentSignal
    dropped: tuple[Drop, ...]


def build_signal(
    *,
    key: PseudonymKey,
    copier: Copier,
    source_format: SourceFormat,
    source_system: str,
    local_id: str,
    reported_at: datetime,
    occurred_at: datetime | None,
    unit_code: str | None,
    category_codes: Iterable[str | None],
    severity: Severity | None,
    seriousness: Seriousness | None,
    actuality: Actuality | None,
    staff: dict[str, StaffRole],
) -> Projection:
    """Every value here has been validated by the caller except the free codes, kept here
    only when the vocabulary knows them. The incident's pseudonym is taken from the source
    system as sent (it is keyed, so even an unknown one is safe there). The contract
    validates the result once more, in one pass in pydantic's core."""
    vocabulary = copier.vocabulary
    fields: dict[str, Any] = {
        "incident": pseudonymize(key, source_system, local_id),
        "source_system": copier.code(CopiedField.SOURCE_SYSTEM, source_system, vocabulary.sources),
        "source_format": source_format,
        "reported_at": reported_at,
        "occurred_at": occurred_at,
        "unit_code": copier.code(CopiedField.UNIT_CODE, unit_code, vocabulary.units),
        "category_codes": copier.categories(category_codes),
        "severity": severity,
        "seriousness": seriousness,
        "actuality": actuality,
        "staff": [
            {"person": pseudonymize_staff(key, ref), "role": role} for ref, role in staff.items()
        ],
    }
    signal: IncidentSignal = _validate_signal(fields)
    return Projection(signal, tuple(copier.drops))
