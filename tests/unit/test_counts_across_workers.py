"""Counts that stay right with several workers: a supporter's load is kept by the partition
that owns them and seen by every worker; a person who changed unit within a month counts in
both units and once in the month's total."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from schemas import (
    Answer,
    Channel,
    ContactPoint,
    Language,
    Notification,
    Profession,
    StaffProfile,
    SupporterProfile,
    SupportResponse,
)
from streams.agents.load import OPEN_FOR, Assignment, Loads, SupporterLoad
from streams.evaluation.anonymity import TOTAL
from streams.evaluation.figures import Figures
from streams.evaluation.report import month_table
from streams.ledger import Json
from streams.owner import owned_by
from streams.ports import Out
from tests.unit import fakes
from tests.unit.helpers import lenient_policy
from tests.unit.test_forget import NOW, offer, person

POLICY = lenient_policy()
WHO = person(1)
BUSY, FREE = person(8), person(9)


def staff(ref: str, unit: str) -> StaffProfile:
    return StaffProfile(
        staff_ref=ref,
        profession=Profession.NURSE,
        unit_code=unit,
        channels=(ContactPoint(channel=Channel.EMAIL, address=f"{ref}@sykehus.example"),),
        language=Language.NB,
    )


def supporter(ref: str) -> SupporterProfile:
    return SupporterProfile(
        staff_ref=ref,
        scheme_id="arbeidsgiver",
        trained_until=date(2030, 1, 1),
        capacity=1,
    )


def accept(number: int) -> SupportResponse:
    return SupportResponse(
        offer_id=offer(number, WHO).offer_id, person=WHO, answer=Answer.ACCEPT, answered_at=NOW
    )


def test_a_supporter_busy_through_another_worker_is_not_chosen() -> None:
    emitted = fakes.Emitted()
    published = {BUSY: SupporterLoad(supporter=BUSY, handed={"hof_elsewhere": NOW})}
    handoffs = fakes.handoffs(
        people={WHO: staff("emp-1", "MED-3"), BUSY: staff("sup-a", "SURG-1")},
        supporters={BUSY: supporter("sup-a"), FREE: supporter("sup-b")},
        now=NOW,
        policy=POLICY,
        emitted=emitted,
        load=published,
    )
    handoffs.directory.people[FREE] = staff("sup-b", "SURG-2")  # type: ignore[attr-defined]
    with owned_by(0):
        handoffs.accepted(accept(1))
        handoffs.accepted(accept(2))  # before its own first hand-off came back as load

    sent = [m for out, _, m, _ in emitted if out is Out.NOTIFICATIONS]
    assert [n.recipient_ref for n in sent if isinstance(n, Notification)] == [
        FREE,
        "coordinator:arbeidsgiver",
    ]
    [(_, key, assignment, _)] = [e for e in emitted if e[0] is Out.ASSIGNMENTS]
    assert key == FREE and isinstance(assignment, Assignment)

    # once the view shows it, it counts once, not twice
    published[FREE] = SupporterLoad(supporter=FREE, handed={assignment.handoff: NOW})
    assert handoffs.open_handoffs(NOW) == {BUSY: 1, FREE: 1}
    assert handoffs.open_handoffs(NOW + OPEN_FOR) == {BUSY: 0, FREE: 0}


def test_the_owner_counts_each_hand_off_once_and_forgets_with_tombstones() -> None:
    emitted = fakes.Emitted()
    loads = Loads(recent=fakes.ledger(Json(SupporterLoad), "supporter-recent"), emit=emitted)
    loads.recent.on_expire.append(loads.expired)
    first = Assignment(supporter=BUSY, handoff="hof_1", at=NOW)
    with owned_by(2):
        assert loads.assigned(first, NOW)
        assert not loads.assigned(first, NOW)  # replayed after a restart
        assert loads.assigned(first.model_copy(update={"handoff": "hof_2"}), NOW)
        loads.assigned(Assignment(supporter=FREE, handoff="hof_3", at=NOW), NOW)

    last = [m for out, key, m, _ in emitted if out is Out.SUPPORTER_LOAD and key == BUSY][-1]
    assert isinstance(last, SupporterLoad) and len(last.recent(NOW)) == 2
    assert loads.recent.partition_of(BUSY) == 2

    emitted.clear()
    assert loads.forget(BUSY) == 1
    loads.recent.expire(NOW + OPEN_FOR + timedelta(seconds=1), {2})
    assert emitted == [
        (Out.SUPPORTER_LOAD, BUSY, None, None),  # the leaver, for every worker's view
        (Out.SUPPORTER_LOAD, FREE, None, None),  # nothing recent left
    ]


def test_a_person_who_changed_unit_counts_in_both_units_and_once_in_the_month() -> None:
    emitted = fakes.Emitted()
    people = {WHO: staff("emp-1", "MED-3"), person(2): staff("emp-2", "MED-4")}
    recorder = fakes.recorder(people=people, policy=POLICY, emitted=emitted)
    subject = fakes.dispatcher(
        people=people, now=NOW, policy=POLICY, evaluation=recorder, emitted=emitted
    )
    with owned_by(1):
        asyncio.run(subject.take(offer(1, WHO, due_at=NOW)))
        people[WHO] = staff("emp-1", "MED-4")  # moved within the month
        asyncio.run(subject.take(offer(2, WHO, due_at=NOW)))
        asyncio.run(subject.take(offer(3, person(2), due_at=NOW)))

    partials = {m.key: m for out, _, m, _ in emitted if isinstance(m, Figures)}
    rows = {(r.unit, r.profession): r.figures for r in month_table(partials.values(), "2026-12", 1)}
    people_in = {key: f.people for key, f in rows.items() if f is not None}
    assert people_in == {
        ("MED-3", "nurse"): 1,
        ("MED-4", "nurse"): 2,
        ("MED-3", TOTAL): 1,
        ("MED-4", TOTAL): 2,
        (TOTAL, "nurse"): 2,  # not 3
        (TOTAL, TOTAL): 2,
    }
    total = rows[(TOTAL, TOTAL)]
    assert total is not None and total.offers == 3


def test_a_month_recorded_before_people_were_counted_once_adds_its_cells_up() -> None:
    old = Figures(month="2026-11", unit="MED-3", profession="nurse", scheme="s", people=4)
    new = old.model_copy(update={"unit": "MED-4", "people": 3, "firsts": (3, 3, 3, 3)})
    [*_, total] = month_table([old, new], "2026-11", 1)
    assert total.figures is not None and total.figures.people == 7
