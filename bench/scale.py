"""Costs that must not grow with the backlog: the scheduler's tick and forgetting a leaver.

In-process, over the worker's own classes (:class:`streams.schedule.Schedule`,
:class:`streams.ledger.Ledger`, :meth:`streams.agents.dispatch.Dispatcher.deliver_due` and
``.forget``) on dict-backed tables: a Faust memory table is a dict, and what the
broker and Faust add around it does not depend on how many entries wait. The entries are
written into the tables' data the way Faust restores them at start-up, so the first tick
or forget also rebuilds the indexes, as after a restart; that one-off is not in the
figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from schemas import Channel, StaffRole, SupportOffer
from schemas.boundary import PseudonymKey
from schemas.policy import default_policy
from streams.agents.dispatch import SCHEDULED, Dispatcher
from streams.ledger import TEXT, Ledger
from streams.metrics import WorkerMetrics
from streams.schedule import PENDING, Pending, Schedule, Stage

NOW = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
PARTITIONS = 6
TICKS = 2_000
LEAVERS = 200
OFFERS_PER_PERSON = 3


class DictTable:
    """What the ledgers use of a Faust table: its data, and its recovery hook."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.data: dict[str, str] = {}
        self._recovered: list[Callable[[], Awaitable[None]]] = []

    def on_recover(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._recovered.append(callback)


class Changelogs:
    """Counts the changelog records the outbox would send."""

    def __init__(self) -> None:
        self.records = 0

    def put_changelog(self, table: Any, partition: int, key: str, value: str | None) -> None:
        self.records += 1


def offer(number: int) -> SupportOffer:
    return SupportOffer(
        offer_id=f"off_{number:032x}",
        incident=f"inc_{number:032x}",
        person=f"stf_{number // OFFERS_PER_PERSON:032x}",
        role=StaffRole.INVOLVED,
        reported_at=NOW - timedelta(days=1),
        created_at=NOW - timedelta(days=1),
        due_at=NOW + timedelta(days=2),
        policy_version="bench",
    )


def restored(table: DictTable, values: Callable[[int], str], count: int) -> None:
    """``count`` entries as Faust's recovery writes them, spread over the partitions."""
    expiry = int((NOW + timedelta(days=90)).timestamp())
    for number in range(count):
        table.data[f"off_{number:032x}"] = f"{expiry}|{number % PARTITIONS}|{values(number)}"


def ids(number: int) -> dict[str, str]:
    return {
        "offer": f"off_{number:032x}",
        "incident": f"inc_{number:032x}",
        "person": f"stf_{number // OFFERS_PER_PERSON:032x}",
    }


def templated(model: str) -> Callable[[int], str]:
    """Values made from the JSON of entry 0 by substitution: 100,000 validations would take
    longer than what is measured."""
    template = model.replace("%", "%%")
    for name, value in ids(0).items():
        template = template.replace(value, f"%({name})s")
    return lambda number: template % ids(number)


def waiting(count: int) -> DictTable:
    table = DictTable("deliveries-pending")
    due = NOW + timedelta(days=2)
    entry = Pending(offer=offer(0), stage=Stage.REMINDER, due_at=due)
    restored(table, templated(entry.model_dump_json()), count)
    return table


def dispatcher(
    changelogs: Changelogs,
    schedule: Schedule,
    scheduled: Ledger[SupportOffer | None] | None = None,
) -> Dispatcher:
    ready = asyncio.Event()
    ready.set()
    policy = default_policy()
    return Dispatcher(
        schedule=schedule,
        sent=Ledger(DictTable("sent"), changelogs, TEXT),
        scheduled=scheduled or Ledger(DictTable("scheduled"), changelogs, SCHEDULED),
        requested=Ledger(DictTable("asked"), changelogs, TEXT),
        emit=lambda *_: None,  # nothing is due in the measured ticks
        directory=SimpleNamespace(ready=ready, get=lambda _: None),
        key=PseudonymKey(b"bench-pseudonym-key-0123456789abcdef-0123"),
        enabled_channels=frozenset(Channel),
        policy=lambda: policy,
        clock=lambda: NOW,
        metrics=WorkerMetrics(),
    )


def tick_cpu_s(count: int) -> float:
    """CPU seconds per scheduler tick with ``count`` entries waiting, none due."""
    changelogs = Changelogs()
    owned = range(PARTITIONS)
    subject = dispatcher(
        changelogs, Schedule(Ledger(waiting(count), changelogs, PENDING), lambda: owned)
    )

    async def ticks() -> float:
        assert await subject.deliver_due() == 0  # the first one after a restart rebuilds
        started = time.process_time()
        for _ in range(TICKS):
            await subject.deliver_due()
        return (time.process_time() - started) / TICKS

    return asyncio.run(ticks())


def forget_s_per_leaver(count: int) -> float:
    """Seconds to forget one leaver in an ``offers-scheduled`` ledger of ``count`` offers
    (and a schedule as large), each leaver with :data:`OFFERS_PER_PERSON` offers."""
    changelogs = Changelogs()
    scheduled_table = DictTable("offers-scheduled")
    restored(scheduled_table, templated(offer(0).model_dump_json()), count)
    scheduled = Ledger(scheduled_table, changelogs, SCHEDULED)
    schedule = Schedule(Ledger(waiting(count), changelogs, PENDING))
    forget = dispatcher(changelogs, schedule, scheduled).forget
    people = count // OFFERS_PER_PERSON
    forget("stf_" + "f" * 32)  # the first one after a restart indexes
    started = time.perf_counter()
    for number in range(0, people, people // LEAVERS)[:LEAVERS]:
        leaver = f"stf_{number:032x}"
        removed = forget(leaver)
        assert removed == 2 * OFFERS_PER_PERSON, removed
    return (time.perf_counter() - started) / LEAVERS


def measure() -> dict[str, float]:
    small, large = tick_cpu_s(1_000), tick_cpu_s(100_000)
    return {
        "dispatch_cpu_ratio_100k_vs_1k": large / small,
        "dispatch_tick_us_100k": large * 1e6,
        "forget_ms_per_leaver_100k_ledger": forget_s_per_leaver(100_000) * 1000,
    }


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name:36s} {value:10.3f}")
