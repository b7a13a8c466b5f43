"""Run a coroutine in its caller until it first has to wait; only then is it awaited.

Faust's consumer hands every fetched message to its stream through ``Service.wait_first``,
racing the hand-over against a suspended flow: four tasks, a wait and three cancellations
for every message, about an eighth of a busy worker's event loop. The hand-over almost never
waits (a lock that is free, a decode, a put on the stream's queue), and a coroutine that does
not wait runs alike whether a task steps it or its caller does. So the caller steps it once;
a hand-over that did have to wait is raced as before, from where it stopped.

A coroutine stopped at a wait has registered itself there (as a waiter of a lock, say), so
it must be resumed or cancelled, never dropped: :meth:`Resumed.as_task` cancels it even when
its task is cancelled before it first runs, as a race's loser can be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
