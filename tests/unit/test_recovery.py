"""Restoring tables from changelogs in batches (streams/faust_fixes/recovery.py): recovery
ends when the last partition reaches its end offset, not a record before, with every record
applied once; and a restart is not ready sooner than the tables are whole."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from faust.types import TP

from streams.faust_fixes import App
from streams.faust_fixes.recovery import BatchedRecovery

FIRST = TP("app-offers-changelog", 0)
SECOND = TP("app-offers-changelog", 1)


class Table:
    recovery_buffer_size = 1000
    standby_buffer_size = 1000

    def __init__(self) -> None:
        self.applied: list[tuple[TP, int]] = []

    async def on_changelog_event(self, event: Any) -> None:
        pass

    def apply_changelog_batch(self, events: list[Any]) -> None:
        self.applied.extend((event.message.tp, event.message.offset) for event in events)


def _event(tp: TP, offset: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(tp=tp, offset=offset))


def _recovery(table: Table, ends: dict[TP, int]) -> tuple[App, BatchedRecovery]:
    app = App("recovery-test", broker="kafka://localhost:1")
    recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager's
    assert isinstance(recovery, BatchedRecovery)
    for tp, end in ends.items():
        recovery.active_tps.add(tp)
        recovery.tp_to_table[tp] = cast(Any, table)
        recovery.active_offsets[tp] = -1
        recovery.active_highwaters[tp] = end
    recovery._set_recovery_started()  # as Faust does before resuming
    return app, recovery


async def _settle() -> None:
    """Until the queue is drained and the batch taken (no timers involved)."""
    for _ in range(10):
        await asyncio.sleep(0)


def test_recovery_ends_at_the_last_record_of_the_last_partition_with_every_record_applied() -> None:
    async def scenario() -> None:
        table = Table()
        app, recovery = _recovery(table, {FIRST: 99, SECOND: 49})
        queue = app.tables.changelog_queue  # type: ignore[attr-defined]
        slurp = asyncio.ensure_future(BatchedRecovery._slurp_changelogs(recovery))
        try:
            for offset in range(100):
                queue.put_nowait(_event(FIRST, offset))
            for offset in range(49):
                queue.put_nowait(_event(SECOND, offset))
            queue.put_nowait(_event(SECOND, 10))  # read again after a seek: applied once
            await _settle()
            assert recovery.in_recovery, "ended with the second partition one record short"
            assert not recovery.signal_recovery_end.is_set()

            ended = asyncio.ensure_future(recovery.signal_recovery_end.wait())  # as Faust waits
            await _settle()
            queue.put_nowait(_event(SECOND, 49))
            await asyncio.wait_for(ended, timeout=5)
            assert not recovery.in_recovery
            expected = [(FIRST, n) for n in range(100)] + [(SECOND, n) for n in range(50)]
            assert sorted(table.applied) == sorted(expected)
        finally:
            slurp.cancel()
            await asyncio.gather(slurp, return_exceptions=True)

    asyncio.run(scenario())


def test_a_record_of_a_partition_not_assigned_is_not_applied_to_another_table() -> None:
    async def scenario() -> None:
        table = Table()
        app, recovery = _recovery(table, {FIRST: 1})
        queue = app.tables.changelog_queue  # type: ignore[attr-defined]
        slurp = asyncio.ensure_future(BatchedRecovery._slurp_changelogs(recovery))
        try:
            queue.put_nowait(_event(FIRST, 0))
            queue.put_nowait(_event(TP("app-other-changelog", 0), 7))
            queue.put_nowait(_event(FIRST, 1))
            await _settle()
            assert not recovery.in_recovery
            assert table.applied == [(FIRST, 0), (FIRST, 1)]
        finally:
            slurp.cancel()
            await asyncio.gather(slurp, return_exceptions=True)

    asyncio.run(scenario())


def test_a_partition_revoked_during_recovery_does_not_hold_it_open() -> None:
    async def scenario() -> None:
        table = Table()
        app, recovery = _recovery(table, {FIRST: 1, SECOND: 5})
        queue = app.tables.changelog_queue  # type: ignore[attr-defined]
        slurp = asyncio.ensure_future(BatchedRecovery._slurp_changelogs(recovery))
        try:
            queue.put_nowait(_event(FIRST, 0))
            queue.put_nowait(_event(SECOND, 0))
            await _settle()
            assert recovery.in_recovery
            recovery.revoke(SECOND)  # another worker restores it now
            queue.put_nowait(_event(FIRST, 1))
            await _settle()
            assert not recovery.in_recovery
        finally:
            slurp.cancel()
            await asyncio.gather(slurp, return_exceptions=True)

    asyncio.run(scenario())
