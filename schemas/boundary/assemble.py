"""The last step every format shares: merge roles, bound lists, build the signal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

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


def merge_staff(entries: Iterable[tuple[str, StaffRole]]) -> list[dict[str, str]]:
    """One entry per person, in first-seen order, with the strongest of their roles.

    Plain dicts: the signal validates them in the same single pass as everything else
    (faster than building models one by one, which pydantic does in Python).
    """
    best: dict[str, StaffRole] = {}
    for staff_ref, role in entries:
        current = best.get(staff_ref)
        if current is None or ROLE_PRECEDENCE.index(role) < ROLE_PRECEDENCE.index(current):
            best[staff_ref] = role
    if len(best) > MAX_STAFF:
        raise BoundaryError(Reason.TOO_MANY, "staff")
    return [{"staff_ref": ref, "role": role} for ref, role in best.items()]


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
    category_codes: Iterable[str],
    severity: Severity | None,
    seriousness: Seriousness | None,
    actuality: Actuality | None,
    staff: list[dict[str, str]],
) -> IncidentSignal:
    """Every value here has been validated by the caller except the free codes, checked
    here: an invalid optional code is dropped, never copied. The contract validates the
    result once more, in one pass in pydantic's core."""
    categories = tuple(dict.fromkeys(filter(is_code, category_codes)))
    return IncidentSignal.model_validate(
        {
            "incident": pseudonymize(key, source_system, local_id),
            "source_system": source_system,
            "source_format": source_format,
            "reported_at": reported_at,
            "occurred_at": occurred_at,
            "unit_code": unit_code if is_code(unit_code) else None,
            "category_codes": categories[:MAX_CATEGORIES],
            "severity": severity,
            "seriousness": seriousness,
            "actuality": actuality,
            "staff": staff,
        }
    )
