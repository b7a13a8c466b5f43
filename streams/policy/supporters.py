"""Choosing a peer supporter for a person who accepted an offer.

Rules, in order: the supporter serves the person's scheme, is active and trained, has room
(fewer open hand-offs than their capacity), is not the person, and is never the person's own
line manager. Among those, the policy prefers the same profession (peer principle) and
another unit; then the least loaded relative to capacity; ties are broken by a hash of the
two references, so load spreads instead of always landing on the first in the list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from schemas import StaffProfile, SupporterProfile
from schemas.policy import SupporterSelection


@dataclass(frozen=True)
class Candidate:
    supporter: SupporterProfile
    profile: StaffProfile  # the supporter's own directory entry
    pseudonym: str  # what their load is counted under

    @property
    def staff_ref(self) -> str:
        return self.supporter.staff_ref


def _tie_break(person: str, supporter: str) -> str:
    return hashlib.sha256(f"{person}\x1f{supporter}".encode()).hexdigest()


def eligible(person: StaffProfile, candidate: Candidate, scheme_id: str, today: date) -> bool:
    supporter = candidate.supporter
    return (
        supporter.scheme_id == scheme_id
        and supporter.available_on(today)
        and not candidate.profile.opted_out
        and supporter.staff_ref != person.staff_ref
        and supporter.staff_ref != person.manager_ref
    )


def choose_supporter(
    person: StaffProfile,
    scheme_id: str,
    candidates: Iterable[Candidate],
    open_handoffs: Mapping[str, int],
    selection: SupporterSelection,
    today: date,
) -> Candidate | None:
    def rank(candidate: Candidate) -> tuple[int, int, float, str]:
        profile = candidate.profile
        return (
            0 if not selection.same_profession or profile.profession == person.profession else 1,
            0 if not selection.other_unit or profile.unit_code != person.unit_code else 1,
            open_handoffs.get(candidate.pseudonym, 0) / candidate.supporter.capacity,
            _tie_break(person.staff_ref, candidate.staff_ref),
        )

    free = [
        candidate
        for candidate in candidates
        if eligible(person, candidate, scheme_id, today)
        and open_handoffs.get(candidate.pseudonym, 0) < candidate.supporter.capacity
    ]
    return min(free, key=rank, default=None)
