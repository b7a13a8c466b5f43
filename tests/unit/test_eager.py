"""A coroutine stepped by its caller until it first waits, then awaited from there."""

from __future__ import annotations

import asyncio

import pytest

from streams.faust_fixes.eager_handover import Finished, Resumed, run_until_blocked


async def _no_wait(value: int) -> int:
    lock = asyncio.Lock()
    async with lock:  # a free lock is taken without waiting
        return value + 1


def test_a_coroutine_that_never_waits_runs_to_its_end_without_an_event_loop() -> None:
    assert run_until_blocked(_no_wait(41)) == Finished(42)


def test_an_error_raised_before_any_wait_is_raised_to_the_caller() -> None:
    async def fails() -> None:
        raise LookupError("no stream for this partition")

    with pytest.raises(LookupError):
        run_until_blocked(fails())


def test_a_coroutine_that_waits_finishes_when_awaited_with_what_it_waited_for() -> None:
    steps: list[str] = []

    async def waits(future: asyncio.Future[int]) -> int:
        steps.append("before")
        got = await future
        steps.append("after")
        await asyncio.sleep(0)  # a bare yield too
        return got * 2

    async def scenario() -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        rest = run_until_blocked(waits(future))
        assert isinstance(rest, Resumed)
        assert steps == ["before"]
        asyncio.get_running_loop().call_soon(future.set_result, 21)
        return await rest.as_task()

    assert asyncio.run(scenario()) == 42
    assert steps == ["before", "after"]


def test_cancelling_the_rest_cancels_the_coroutine_where_it_waits() -> None:
    cleaned_up: list[bool] = []

    async def waits_forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned_up.append(True)

    async def scenario() -> None:
        rest = run_until_blocked(waits_forever())
        assert isinstance(rest, Resumed)
        task = rest.as_task()
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert cleaned_up == [True]


def test_an_error_after_the_wait_reaches_whoever_awaits_the_rest() -> None:
    async def fails_later(future: asyncio.Future[None]) -> None:
        await future
        raise LookupError("decode failed")

    async def scenario() -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        rest = run_until_blocked(fails_later(future))
        future.set_result(None)
        await rest

    with pytest.raises(LookupError):
        asyncio.run(scenario())


def test_a_rest_cancelled_before_it_runs_leaves_no_lock_waiter_behind() -> None:
    # a race's loser can be cancelled before its first step; the hand-over, stopped in
    # the line for a lock, stayed there: the lock's next release woke nobody, and the next
    # taker waited for ever
    async def scenario() -> None:
        lock = asyncio.Lock()
        await lock.acquire()

        async def hand_over() -> None:
            async with lock:
                pass

        rest = run_until_blocked(hand_over())
        assert isinstance(rest, Resumed)
        task = rest.as_task()
        task.cancel()  # before it ever ran
        with pytest.raises(asyncio.CancelledError):
            await task
        lock.release()
        await asyncio.wait_for(lock.acquire(), 5)

    asyncio.run(scenario())
