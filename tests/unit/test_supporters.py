"""Choosing a peer supporter: peer principle, another unit, never the line manager, and the
load spread across everyone available."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

from schemas import Profession, StaffProfile, SupporterProfile
from schemas.policy import SupporterSelection
from streams.policy.supporters import Candidate, choose_supporter

TODAY = date(2026, 11, 23)
PREFER_ALL = SupporterSelection()


def staff(ref: str, profession: Profession, unit: str, manager: str | None = None) -> StaffProfile:
    return StaffProfile(staff_ref=ref, profession=profession, unit_code=unit, manager_ref=manager)


def candidate(
    ref: str,
    profession: Profession = Profession.NURSE,
    unit: str = "ORT-2",
    *,
    scheme: str = "arbeidsgiver",
    active: bool = True,
    trained_until: date = date(2027, 6, 1),
    capacity: int = 3,
) -> Candidate:
    return Candidate(
        SupporterProfile(
            staff_ref=ref,
            scheme_id=scheme,
            trained_until=trained_until,
            active=active,
            capacity=capacity,
        ),
        staff(ref, profession, unit),
        pseudonym=ref,  # load is counted under the pseudonym; here the reference stands in
    )


NURSE = staff("emp-1", Profession.NURSE, "MED-3", manager="boss-1")


def chosen(candidates: list[Candidate], load: dict[str, int] | None = None) -> str | None:
    pick = choose_supporter(NURSE, "arbeidsgiver", candidates, load or {}, PREFER_ALL, TODAY)
    return pick.staff_ref if pick else None


def test_same_profession_from_another_unit_is_preferred() -> None:
    pool = [
        candidate("same-unit-nurse", unit="MED-3"),
        candidate("other-unit-hcw", Profession.HEALTH_CARE_WORKER),
        candidate("other-unit-nurse"),
    ]
    assert chosen(pool) == "other-unit-nurse"
    assert chosen(pool[:2]) == "same-unit-nurse"  # the peer principle outranks the unit


def test_the_line_manager_is_never_chosen_even_when_alone() -> None:
    assert chosen([candidate("boss-1")]) is None
    assert chosen([candidate("boss-1"), candidate("emp-1"), candidate("x", unit="MED-3")]) == "x"


def test_inactive_untrained_other_scheme_and_full_supporters_are_skipped() -> None:
    pool = [
        candidate("inactive", active=False),
        candidate("lapsed", trained_until=date(2026, 1, 1)),
        candidate("doctors-scheme", scheme="legeforeningen"),
        candidate("full", capacity=2),
    ]
    assert chosen(pool, {"full": 2}) is None
    assert chosen(pool, {"full": 1}) == "full"


def test_load_spreads_across_equally_suitable_supporters() -> None:
    pool = [candidate(f"sup-{n}", capacity=50) for n in range(5)]
    load: Counter[str] = Counter()
    rng = random.Random(7)
    for number in range(200):
        person = staff(f"emp-{rng.randrange(10_000)}-{number}", Profession.NURSE, "MED-3")
        pick = choose_supporter(person, "arbeidsgiver", pool, load, PREFER_ALL, TODAY)
        assert pick is not None
        load[pick.staff_ref] += 1
    assert sorted(load.values()) == [40, 40, 40, 40, 40]


def test_capacity_weighs_the_spread() -> None:
    pool = [candidate("big", capacity=4), candidate("small", capacity=1)]
    load: Counter[str] = Counter()
    for number in range(5):
        person = staff(f"emp-{number}", Profession.NURSE, "MED-3")
        pick = choose_supporter(person, "arbeidsgiver", pool, load, PREFER_ALL, TODAY)
        assert pick is not None
        load[pick.staff_ref] += 1
    assert load == {"big": 4, "small": 1}
