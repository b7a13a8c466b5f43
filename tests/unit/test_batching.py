"""The worker's agents take batches that wait from their first record
(streams.faust_fixes.lingering_batches)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
import pytest

from streams.faust_fixes.lingering_batches import LingeringStream

WAIT_S = 0.3


def _run(scenario: Callable[[Any, Any], Awaitable[Any]], stream_class: type[Any]) -> Any:
    """``scenario(channel, stream)`` with a stream of ``stream_class`` over a fresh channel."""

    async def main() -> Any:
        app = faust.App("batching-test", broker="kafka://localhost:1", Stream=stream_class)
        app.flow_control.resume()  # a running worker resumes it once partitions are assigned
        channel = app.channel()
        try:
            return await scenario(channel, channel.stream())
        finally:
            app.consumer._thread.thread_loop.close()

    return asyncio.run(main())


async def _batches(stream: Any, count: int, max_: int = 10) -> list[tuple[float, list[int]]]:
    """The first ``count`` values' batches, each with when it was handed over."""
    taken: list[tuple[float, list[int]]] = []
    async for events in stream.take_events(max_, within=WAIT_S):
        taken.append((time.perf_counter(), [event.value for event in events]))
        if sum(len(values) for _, values in taken) >= count:
            break
    return taken


def test_records_that_arrive_within_the_wait_of_the_first_go_out_in_one_batch() -> None:
    # Faust's timer ticks every WAIT_S from the start of the take: a record just before a
    # tick went out alone, and the next one waited a whole tick more
    async def scenario(channel: Any, stream: Any) -> tuple[float, list[tuple[float, list[int]]]]:
        async def feed() -> float:
            await asyncio.sleep(WAIT_S * 0.8)
            first = time.perf_counter()
            await channel.send(value=1)
            await asyncio.sleep(WAIT_S * 0.4)
            await channel.send(value=2)
            return first

        fed = asyncio.ensure_future(feed())
        taken = await _batches(stream, 2)
        return await fed, taken

    first, [(handed_over, values)] = _run(scenario, LingeringStream)
    assert values == [1, 2]
    assert handed_over - first >= WAIT_S * 0.9  # it waited for more, from the first record


def test_a_full_batch_goes_out_without_waiting() -> None:
    async def scenario(channel: Any, stream: Any) -> float:
        async def feed() -> None:
            for value in range(3):
                await channel.send(value=value)

        started = time.perf_counter()
        fed = asyncio.ensure_future(feed())
        [(handed_over, values)] = await _batches(stream, 3, max_=3)
        await fed
        assert values == [0, 1, 2]
        return handed_over - started

    assert _run(scenario, LingeringStream) < WAIT_S / 2


@pytest.mark.parametrize(("stream_class", "idle"), [(LingeringStream, True), (faust.Stream, False)])
def test_an_idle_stream_waits_without_waking(stream_class: type[Any], idle: bool) -> None:
    # Faust's take woke every wait, starting and cancelling tasks: with five agents, most of
    # what an idle worker spent (18 % of a core, 11 % with the lingering stream)
    started = 0

    def counting(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
        nonlocal started
        started += 1
        return asyncio.Task(coro, loop=loop)

    async def scenario(channel: Any, stream: Any) -> int:
        taking = asyncio.ensure_future(_batches(stream, 1))
        await asyncio.sleep(WAIT_S / 2)  # the take is set up and waiting
        asyncio.get_running_loop().set_task_factory(counting)
        await asyncio.sleep(WAIT_S * 4)
        asyncio.get_running_loop().set_task_factory(None)
        await channel.send(value=1)
        [(_, values)] = await taking
        assert values == [1]
        return started

    assert (_run(scenario, stream_class) == 0) is idle
