"""The last step every format shares: merge roles, bound lists, build the signal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from schemas.boundary.errors import BoundaryError
from schemas.boundary.pseudonym import PseudonymKey, pseudonymize
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


def build_signal(
    *,
    key: PseudonymKey,
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
) -> IncidentSignal:
    """Every value here has been validated by the caller except the free codes, checked
    here: an invalid optional code is dropped, never copied. The contract validates the
    result once more, in one pass in pydantic's core (as fast here as building it without
    validation, which pydantic does in Python)."""
    fields: dict[str, Any] = {
        "incident": pseudonymize(key, source_system, local_id),
        "source_system": source_system,
        "source_format": source_format,
        "reported_at": reported_at,
        "occurred_at": occurred_at,
        "unit_code": unit_code if is_code(unit_code) else None,
        "category_codes": tuple(dict.fromkeys(filter(is_code, category_codes)))[:MAX_CATEGORIES],
        "severity": severity,
        "seriousness": seriousness,
        "actuality": actuality,
        "staff": [{"staff_ref": ref, "role": role} for ref, role in staff.items()],
    }
    signal: IncidentSignal = _validate_signal(fields)
    return signal
