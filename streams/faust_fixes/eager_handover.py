"""Patch (throughput only): a fetched message is handed to its stream without a task.

Faust: hands every fetched message to its stream through ``Service.wait_first``, racing the
hand-over against a suspended flow: four tasks, a wait and three cancellations for every
message, about an eighth of a busy worker's event loop.
We need: nothing for correctness. The hand-over almost never waits (a free lock, a decode,
a put on the stream's queue), and a coroutine that does not wait runs alike whether a task
steps it or its caller does; so the caller steps it once (:func:`run_until_blocked`), and a
hand-over that did have to wait is raced as before, from where it stopped. The loop still
turns once per message of a topic an agent reads, so a rebalance's callbacks run between
two such messages as with Faust's race (without that, the failover test lost offers). A
changelog record goes to the tables' recovery, never to an agent, so records restored at
start-up are handed over without a turn each (Faust's fetch loop turns every hundred), so
a restart's restore does not pay a loop turn per record.
Upstream: none filed that we found.
Proof: ``tests/unit/test_eager.py`` (stepping, resuming, cancelling),
``tests/unit/test_worker_transport.py`` (the hand-over's outcome equals the race's, the
loop turns between two agents' messages and not between two changelog records).
Retire: drop :class:`EagerHandOver` from ``streams.faust_fixes.consumer.Consumer`` and
delete this module and its test; the bench's ``pipeline_per_s`` shows the cost.

A coroutine stopped at a wait has registered itself there (as a waiter of a lock, say), so
it must be resumed or cancelled, never dropped: :meth:`Resumed.as_task` cancels it even when
its task is cancelled before it first runs, as a race's loser can be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from faust.transport.drivers import aiokafka as driver
from mode.services import WaitResults

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Finished(Generic[T]):
    """The coroutine ran to its end without waiting, with this result."""

    value: T


class Resumed(Generic[T]):
    """An awaitable for the rest of a coroutine stopped at ``waiting_on``.

    Delegates as ``yield from`` does, except that the first value is the one the coroutine
    already gave: the future it waits on goes up to the task that awaits this, and whatever
    that task sends or throws in (a cancellation) goes down to the coroutine.
    """

    __slots__ = ("_coro", "_started", "_waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, T], waiting_on: Any) -> None:
        self._coro = coro
        self._waiting_on = waiting_on
        self._started = False

    def as_task(self) -> asyncio.Task[T]:
        """The rest as a task; cancelled before it first runs, it cancels the coroutine.

        Without that, a coroutine waiting for a lock stays that lock's waiter for good: the
        lock's next release wakes it, nobody runs it, and every later taker of the lock
        waits for ever (``tests/unit/test_eager.py`` shows it).
        """
        task = asyncio.ensure_future(self)
        task.add_done_callback(self._cancel_unless_started)
        return task

    def _cancel_unless_started(self, _task: object) -> None:
        if not self._started:
            _cancel(self._coro)

    def __await__(self) -> Generator[Any, Any, T]:
        self._started = True
        coro, value = self._coro, self._waiting_on
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                _cancel(coro)
                raise
            except BaseException as exc:  # handed to the coroutine, as yield from does
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    result = stop.value
                    return result


def _cancel(coro: Coroutine[Any, Any, Any]) -> None:
    """Cancel ``coro`` where it waits, so its cleanup runs (a lock passes its wake-up on),
    which closing it would skip."""
    try:
        coro.throw(asyncio.CancelledError())
    except (asyncio.CancelledError, StopIteration):
        return
    coro.close()  # it went on to wait again: nothing is left to run it


def run_until_blocked(coro: Coroutine[Any, Any, T]) -> Finished[T] | Resumed[T]:
    """Step ``coro`` here; its result if it ends without waiting, else the rest of it to
    await (with :meth:`Resumed.as_task`). An exception it raises before waiting is raised
    here."""
    try:
        waiting_on = coro.send(None)
    except StopIteration as stop:
        return Finished(stop.value)
    return Resumed(coro, waiting_on)


class HandOver:
    """The hand-over of one fetched message to its stream (Faust's ``on_message``)."""

    __slots__ = ("coro", "topic")

    def __init__(self, coro: Awaitable[None], topic: str | None = None) -> None:
        self.coro = coro
        self.topic = topic

    def __await__(self) -> Generator[Any, Any, None]:
        return self.coro.__await__()


class EagerHandOver(driver.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        on_message = self.callback
        self.callback = lambda message: HandOver(
            on_message(message), getattr(message, "topic", None)
        )
        self._changelogs: frozenset[str] = frozenset()

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """A hand-over that needs no wait runs here, with the outcome the race would have
        had: it runs to its end either way, and the waits it raced never started. One that
        waits is raced from where it stopped."""
        hand_over = coros[0].coro if coros and isinstance(coros[0], HandOver) else None
        if not isinstance(hand_over, Coroutine):
            return await super().wait_first(*coros, timeout=timeout)
        outcome = run_until_blocked(hand_over)
        if not isinstance(outcome, Finished):
            return await super().wait_first(outcome.as_task(), *coros[1:], timeout=timeout)
        for rival in coros[1:]:
            if isinstance(rival, Coroutine):
                rival.close()  # never started; closed, so it is not reported as never awaited
        if not self._is_changelog(coros[0].topic):
            await asyncio.sleep(0)  # a rebalance gets in between two messages, as with Faust's race
        if self._stopped.is_set() or self._crashed.is_set():
            return WaitResults([], [], True)
        return WaitResults([coros[0]], [outcome.value], False)

    def _is_changelog(self, topic: str | None) -> bool:
        """Whether ``topic`` is a table's changelog; the tables are all declared before the
        first fetch, so their set is read once."""
        if not self._changelogs:
            self._changelogs = frozenset(self.app.tables.changelog_topics)
        return topic in self._changelogs
