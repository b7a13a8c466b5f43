"""Patch (idle cost): a batch waits from its first record, not on a fixed timer.

Faust: ``Stream.take_events`` wakes every ``within`` seconds whether or not anything
arrived: with four batching agents and a 20 ms wait an idle worker woke 200 times a second,
each wake starting and cancelling tasks (an idle worker used 18 % of a core; 11 % with
this stream, before the fetch wait backed off).
We need: a batch that starts with its first record and is handed over when it is full or
``within`` after that record (``PSB_WORKER_BATCH_WAIT_MS`` is the longest a record waits
for its batch), and an idle stream that waits without waking. Buffering, acknowledgement
and clean-up are Faust's (``faust/streams.py``, ``Stream.take_events``); only the waiting
differs.
Upstream: none filed that we found.
Proof: ``tests/unit/test_batching.py``; ``bench/idle.py`` (``worker_idle_cpu_pct``).
Retire: when ``take_events`` waits for its first event before timing the batch; drop
``Stream=LingeringStream`` from :class:`streams.faust_fixes.app.App` and delete this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import faust
from faust.streams import _tracks_buffer_agen
from mode.utils.aiter import aiter
from mode.utils.futures import notify
from mode.utils.locks import Event
from mode.utils.times import Seconds, want_seconds


class LingeringStream(faust.Stream[Any]):
    @_tracks_buffer_agen
    async def take_events(self, max_: int, within: Seconds) -> AsyncGenerator[list[Any], None]:
        buffer: list[Any] = []
        events: list[Any] = []
        started = Event()  # the batch has its first record
        full = Event()
        consumed = Event()
        consuming: asyncio.Future[None] | None = None
        enable_acks = self.enable_acks

        async def add_to_buffer(value: Any) -> Any:
            nonlocal consuming
            try:
                if consuming is not None:  # the batch is being handled: wait for its end
                    try:
                        await consuming
                    finally:
                        consuming = None
                event = self.current_event
                if event is None:
                    raise RuntimeError("Take buffer found current_event is None")
                buffer.append(value)
                events.append(event)
                started.set()
                if len(buffer) >= max_:
                    full.set()
                    consumed.clear()
                    await self.wait(consumed)  # never more than max_ in a batch
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.exception("Error adding to take buffer: %r", exc)
                await self.crash(exc)
            return value

        linger = want_seconds(within)
        self.enable_acks = False  # events are acknowledged once their batch is handled
        self.add_processor(add_to_buffer)
        self._enable_passive(aiter(self.channel))  # type: ignore[arg-type]  # as Faust does
        try:
            while not self.should_stop:
                if await self.wait_for_stopped(started):  # set with the batch's first record
                    break
                await self.wait_for_stopped(full, timeout=linger)
                consuming = self.loop.create_future()
                try:
                    yield list(events)
                finally:
                    buffer.clear()
                    for event in events:
                        await self.ack(event)
                    events.clear()
                    notify(consuming)
                    started.clear()
                    full.clear()
                    consumed.set()
        finally:
            self.enable_acks = enable_acks
            self._processors.remove(add_to_buffer)
