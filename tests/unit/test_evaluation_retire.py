"""The worker keeps an evaluation cell only while it can still change; the published figures
are retired from the ``evaluation`` topic when the policy's ``evaluation_months`` end, by
the partition's owner, and settled cells left by an older release are forgotten then too."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel

from runtime.topics import Topics
from schemas import Answer, Channel, ContactPoint, Profession, StaffProfile, SupportResponse
from streams.evaluation import recorder as recording
from streams.evaluation.figures import Figures
from streams.evaluation.recorder import Recorder, month_start
from streams.evaluation.retire import decide, first_kept
from streams.ledger import Codec, Ledger
from streams.metrics import WorkerMetrics
from streams.owner import owned_by
from tests.unit import fakes
from tests.unit.helpers import KEY, lenient_policy
from tests.unit.test_forget import NOW, offer, person

POLICY = lenient_policy()
ZONE = POLICY.timing.zone
WHO = person(1)
PARTITION = 3
TINY = timedelta(microseconds=1)


class Producer:
    """The worker's batched producer, as the recorder's emitter uses it."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None]] = []

    def put(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        self.records.append((topic, key, value))

    def put_model(
        self, topic: str, key: str, model: BaseModel, incident: str | None = None
    ) -> None:
        self.records.append((topic, key.encode(), model.model_dump_json().encode()))


class Context:
    """What :func:`recorder.register` uses of the worker's context."""

    def __init__(self) -> None:
        self.topics = Topics("")
        self.outbox = Producer()
        self.directory = fakes.People({WHO: nurse()})
        self.key = KEY
        self.policy = SimpleNamespace(current=POLICY)
        self.metrics = WorkerMetrics()
        self.ledgers: dict[str, Ledger[Any]] = {}

    def ledger(self, name: str, codec: Codec[Any], **options: Any) -> Ledger[Any]:
        table = fakes.Table(name)
        self.ledgers[name] = Ledger(table, table, codec, options.get("on_expire"))
        return self.ledgers[name]


def nurse() -> StaffProfile:
    return StaffProfile(
        staff_ref="emp-1",
        profession=Profession.NURSE,
        unit_code="MED-3",
        channels=(ContactPoint(channel=Channel.EMAIL, address="kari@sykehus.example"),),
    )


def offer_sent(figures: Recorder) -> None:
    """An offer of December 2026 (Oslo) goes out from partition 3."""
    subject = fakes.dispatcher(people={WHO: nurse()}, now=NOW, policy=POLICY, evaluation=figures)
    with owned_by(PARTITION):
        asyncio.run(subject.take(offer(1, WHO, due_at=NOW)))


def test_a_cell_is_forgotten_once_its_month_can_no_longer_change_and_stays_published() -> None:
    ctx = Context()
    figures = recording.register(ctx)  # type: ignore[arg-type]  # the parts it uses
    offer_sent(figures)
    [cell] = figures.cells.references()
    published = len(ctx.outbox.records)
    settled = month_start("2026-12", 1, ZONE) + POLICY.retention.offers + timedelta(days=1)

    assert figures.offers.expire(settled - TINY, {PARTITION})  # the offer's record went first
    assert figures.cells.expire(settled - TINY, {PARTITION}) == []
    assert figures.cells.expire(settled, {PARTITION}) == [cell]

    assert len(figures.cells) == 0
    assert len(ctx.outbox.records) == published  # no tombstone for the published figures
    assert ctx.outbox.records[-1][2] is not None


def test_an_answer_whose_cell_was_forgotten_changes_no_published_figures() -> None:
    """As after ``retention.offers`` was shortened while the offer's record was kept."""
    emitted = fakes.Emitted()
    figures = fakes.recorder(people={WHO: nurse()}, policy=POLICY, emitted=emitted)
    offer_sent(figures)
    [cell] = figures.cells.references()
    figures.cells.remove(cell)
    emitted.clear()

    answer = SupportResponse(
        offer_id=offer(1, WHO).offer_id,
        person=WHO,
        answer=Answer.ACCEPT,
        answered_at=NOW + timedelta(hours=1),
    )
    with owned_by(PARTITION):
        figures.answered(answer)

    assert emitted == []
    assert len(figures.cells) == 0


def key(month: str, partition: int = PARTITION) -> str:
    return Figures(
        month=month, unit="MED-3", profession="nurse", scheme="a", partition=partition
    ).key


def test_a_published_month_is_retired_exactly_when_its_retention_ends() -> None:
    published = [key("2024-11"), key("2024-12"), key("2025-01")]
    ends = month_start("2024-12", POLICY.retention.evaluation_months, ZONE)

    before = decide(published, [], {PARTITION}, ends - TINY, POLICY)
    at = decide(published, [], {PARTITION}, ends, POLICY)

    assert before.unpublish == [key("2024-11")]
    assert at.unpublish == [key("2024-11"), key("2024-12")]
    assert (first_kept(ends - TINY, POLICY), first_kept(ends, POLICY)) == ("2024-12", "2025-01")


def test_cells_of_partitions_another_worker_owns_are_left_to_it() -> None:
    now = datetime(2027, 6, 1, tzinfo=ZONE)
    theirs = [key("2024-11", partition=5)]

    plan = decide(theirs, [(theirs[0], 5)], {PARTITION}, now, POLICY)

    assert (plan.unpublish, plan.forget) == ([], [])
    assert decide(theirs, [(theirs[0], 5)], {5}, now, POLICY).forget == theirs


def test_a_kept_cell_of_a_settled_month_is_forgotten_and_its_figures_stay_published() -> None:
    """As an upgraded worker finds them: kept for the whole retention by an older release."""
    kept = [(key("2026-10"), PARTITION), (key("2026-11"), PARTITION)]
    settled = month_start("2026-10", 1, ZONE) + POLICY.retention.offers + timedelta(days=1)
    published = [cell for cell, _ in kept]

    assert decide(published, kept, {PARTITION}, settled - TINY, POLICY).forget == []
    plan = decide(published, kept, {PARTITION}, settled, POLICY)

    assert plan.forget == [key("2026-10")]
    assert plan.unpublish == []
