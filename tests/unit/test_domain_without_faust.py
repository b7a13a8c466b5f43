"""Dispatch, hand-offs, the evaluation figures and the answers' fan-out on plain fakes of
the worker's ports (:mod:`tests.unit.fakes`): no Faust app, no broker, no partition in
what they are given; their modules import no Faust at all."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from schemas import (
    Answer,
    Channel,
    ContactPoint,
    Language,
    Notification,
    NotificationKind,
    Profession,
    StaffProfile,
    SupportResponse,
)
from streams.agents.answers import fan_out
from streams.agents.dispatch import Dispatcher
from streams.agents.skip import Skip
from streams.evaluation.figures import Figures
from streams.owner import owned_by
from streams.ports import Out
from streams.schedule import Stage
from tests.unit import fakes
from tests.unit.helpers import lenient_policy
from tests.unit.test_forget import NOW, offer, person

ROOT = Path(__file__).resolve().parents[2]
POLICY = lenient_policy()
WHO = person(1)
PARTITION = 3

DOMAIN = (
    "streams.agents.answers",
    "streams.agents.dispatch",
    "streams.agents.handoff",
    "streams.agents.skip",
    "streams.evaluation.recorder",
    "streams.forget",
    "streams.ledger",
    "streams.ports",
    "streams.schedule",
    "tests.unit.fakes",
)


def test_the_domain_modules_import_no_faust() -> None:
    code = (
        f"import sys, {', '.join(DOMAIN)}; "
        "print(*sorted(m for m in ('faust', 'mode', 'aiokafka') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == ""


def profile() -> StaffProfile:
    return StaffProfile(
        staff_ref="emp-1",
        display_name="Kari Nordmann",
        profession=Profession.NURSE,
        unit_code="MED-3",
        channels=(ContactPoint(channel=Channel.EMAIL, address="kari@sykehus.example"),),
        language=Language.NB,
    )


def notifications(emitted: fakes.Emitted) -> list[Notification]:
    return [model for out, _, model, _ in emitted if isinstance(model, Notification)]


def figures(emitted: fakes.Emitted) -> Figures:
    last = [model for out, _, model, _ in emitted if out is Out.EVALUATION]
    assert isinstance(last[-1], Figures)
    return last[-1]


def delivered(emitted: fakes.Emitted) -> tuple[Dispatcher, fakes.Clock]:
    """An offer due now, read from partition 3 of ``support-offers``."""
    people = {WHO: profile()}
    recorder = fakes.recorder(people=people, policy=POLICY, emitted=emitted)
    subject = fakes.dispatcher(
        people=people, now=NOW, policy=POLICY, evaluation=recorder, emitted=emitted
    )
    with owned_by(PARTITION):
        asyncio.run(subject.take(offer(1, WHO, due_at=NOW)))
    assert isinstance(subject.clock, fakes.Clock)
    return subject, subject.clock


def test_an_offer_and_its_reminder_go_out_and_are_counted_where_the_offer_is() -> None:
    emitted = fakes.Emitted()
    subject, clock = delivered(emitted)

    [sent] = notifications(emitted)
    assert (sent.kind, sent.recipient_ref) == (NotificationKind.OFFER, WHO)
    assert subject.sent.partition_of(sent.notification_id) == PARTITION
    assert (figures(emitted).offers, figures(emitted).partition) == (1, PARTITION)
    waiting = subject.schedule.get(offer(1, WHO).offer_id)
    assert waiting is not None and waiting.stage is Stage.REMINDER

    clock.now = NOW + timedelta(days=4)  # the scheduler's timer: no event, no partition
    assert asyncio.run(subject.deliver_due()) == 1

    reminder = notifications(emitted)[-1]
    assert reminder.kind is NotificationKind.REMINDER
    assert subject.sent.partition_of(reminder.notification_id) == PARTITION
    assert (figures(emitted).reminders, figures(emitted).partition) == (1, PARTITION)
    assert len(subject.schedule) == 0


def test_an_entry_of_a_partition_not_owned_waits() -> None:
    emitted = fakes.Emitted()
    subject = fakes.dispatcher(
        people={WHO: profile()}, now=NOW, policy=POLICY, owned=frozenset({0}), emitted=emitted
    )
    with owned_by(PARTITION):
        asyncio.run(subject.take(offer(1, WHO, due_at=NOW + timedelta(hours=1))))
    assert isinstance(subject.clock, fakes.Clock)
    subject.clock.now = NOW + timedelta(hours=2)

    assert asyncio.run(subject.deliver_due()) == 0 and emitted == []


def answer(kind: Answer, at: datetime) -> SupportResponse:
    return SupportResponse(offer_id=offer(1, WHO).offer_id, person=WHO, answer=kind, answered_at=at)


def test_each_answer_reaches_dispatch_then_hand_offs_then_the_figures() -> None:
    emitted = fakes.Emitted()
    subject, clock = delivered(emitted)
    assert subject.evaluation is not None
    recorder = subject.evaluation
    handoffs = fakes.handoffs(
        people={WHO: profile()}, supporters={}, now=NOW, policy=POLICY, emitted=emitted
    )
    clock.now = NOW + timedelta(hours=1)
    emitted.clear()

    with owned_by(PARTITION):
        later = answer(Answer.REMIND_LATER, clock.now)
        asyncio.run(fan_out(later, subject, handoffs, recorder))  # type: ignore[arg-type]
        waiting = subject.schedule.get(later.offer_id)
        assert waiting is not None and waiting.stage is Stage.LATER
        accept = answer(Answer.ACCEPT, clock.now)
        asyncio.run(fan_out(accept, subject, handoffs, recorder))  # type: ignore[arg-type]

    assert subject.schedule.get(later.offer_id) is None  # the accept ended the wait
    kinds = [(out, getattr(model, "kind", None)) for out, _, model, _ in emitted]
    assert kinds == [
        (Out.EVALUATION, None),  # "later" counted
        (Out.NOTIFICATIONS, NotificationKind.HANDOFF),  # to the scheme's coordinator
        (Out.EVALUATION, None),  # "accepted" counted
    ]
    counted = figures(emitted)
    assert (counted.answered, counted.later, counted.accepted) == (1, 1, 1)
    assert handoffs.made.partition_of(accept.offer_id) == PARTITION


def test_skip_reasons_are_one_list_for_offers_and_hand_offs() -> None:
    emitted = fakes.Emitted()
    subject = fakes.dispatcher(people={}, now=NOW, policy=POLICY, emitted=emitted)
    handoffs = fakes.handoffs(people={}, supporters={}, now=NOW, policy=POLICY, emitted=emitted)
    with owned_by(0):
        asyncio.run(subject.take(offer(1, WHO, due_at=NOW)))
        handoffs.accepted(answer(Answer.ACCEPT, NOW))

    assert emitted == []
    reason = Skip.UNKNOWN_STAFF.value
    assert subject.metrics.not_notified.labels(reason)._value.get() == 1
    assert handoffs.metrics.handoffs.labels("none", reason)._value.get() == 1
