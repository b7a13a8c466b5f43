"""The worker's Faust consumer: a message Faust leaves unprocessed is read again.

During a rebalance (a worker joins, leaves or dies) Faust's consumer can lose track of
messages in flight: a stream skips a message it reads while the flow is suspended, or one
from an earlier generation, and acknowledges it anyway; a fetched message can be dropped
before it reaches the stream; and its commit check lets the run of acknowledged offsets
start one past the committed offset (the next one to read), passing that one message.
The worker does not depend on those paths:

* **Rewind.** When partitions are assigned and Faust seeks to the committed offsets, each
  source partition of an agent is read again from ``rewind_records`` records earlier
  (``PSB_WORKER_REWIND_RECORDS``), more than the worker keeps in flight
  (``streams.app.IN_FLIGHT_RECORDS`` fetched and queued, plus one batch).
* **No commit past the committed offset's message** while it is unprocessed
  (:meth:`Consumer._new_offset`), and no offsets taken as empty because a record past
  them arrived (:meth:`Consumer._add_gap`).
* **Re-read.** A partition whose commit waits at an unprocessed message for
  :data:`STALL_S` is read again from the committed offset. Faust drops a record below the
  partition's read offset, and records fetched before the seek would raise that offset
  past the re-read, so :class:`ReadOffsets` holds it until the commit has passed every
  offset processed before the re-read. If the re-read starts past the committed offset,
  no message is there (a transaction marker, say) and the commit passes it.
* **Seeks in the consumer's thread.** aiokafka is not thread-safe, and Faust seeks from the
  worker's thread; with the rewind's many seeks per rebalance that once crashed a worker.

It also stops fetching what Faust has paused (:meth:`Consumer.pause_partitions`), and hands
each fetched message to its stream without a task unless the hand-over has to wait
(:meth:`Consumer.wait_first`).

What is read twice the ledgers absorb: every agent sends its output before it records
the ledger entry that vouches for it, so a repeat is dropped downstream, never lost.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Coroutine, Generator, Iterable
from contextlib import suppress
from typing import Any

from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as driver
from mode.services import WaitResults

from runtime.logging import get_logger
from streams.eager import Finished, run_until_blocked

log = get_logger("consumer")
STALL_S = 5.0


class ReadOffsets(defaultdict[Any, int | None]):
    """Faust's offset of the last record read per partition, which a re-read can hold.

    Faust yields a record only at or past the read offset, and takes a jump past it as
    offsets holding no message, which it may commit past. During a re-read, records
    fetched before its seek (further on) and the re-read's own (from ``start``) arrive
    interleaved, so no one read offset serves both: when it followed the records, each
    record fetched before the seek made Faust drop the rest of the re-read, and a re-read
    recovered one message per stall. So while held the offset reads as unknown: Faust
    yields every record and infers no gaps, and the ledgers drop the repeats. The hold
    ends when the commit passes ``until``, the last offset processed when the re-read
    began (:meth:`Consumer._new_offset`); the read offset is then the highest one read.

    Where the re-read's first record (at most ``limit``, the first processed offset after
    ``start``) is past ``start``, offsets from ``start`` up to it hold no message.
    """

    def __init__(self) -> None:
        super().__init__(lambda: None)
        self._held: dict[Any, tuple[int, int, int]] = {}  # partition -> start, limit, until
        self._started: set[Any] = set()  # held partitions whose re-read has arrived
        self.empty: dict[Any, range] = {}  # partition -> offsets found to hold no message

    def hold(self, tp: Any, start: int, limit: int, until: int) -> None:
        super().__setitem__(tp, start if start else None)
        self._held[tp] = (start, limit, until)
        self._started.discard(tp)

    def held_until(self, tp: Any) -> int | None:
        held = self._held.get(tp)
        return None if held is None else held[2]

    def release(self, tp: Any) -> None:
        self._held.pop(tp, None)
        self._started.discard(tp)

    def __getitem__(self, tp: Any) -> int | None:
        if tp in self._held:
            return None
        return super().__getitem__(tp)

    def __setitem__(self, tp: Any, offset: int | None) -> None:
        held = self._held.get(tp)
        if held is not None and offset is not None:
            start, limit, _ = held
            if tp not in self._started and offset <= limit:  # the re-read's first record
                self._started.add(tp)
                if offset > start:
                    self.empty[tp] = range(start, offset)
            highest = super().get(tp)
            if highest is not None and highest > offset:
                offset = highest
        super().__setitem__(tp, offset)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Faust seeks every partition after a rebalance: holds end there."""
        self._held.clear()
        self._started.clear()
        super().update(*args, **kwargs)

    def pop(self, tp: Any, *default: Any) -> Any:
        self.release(tp)
        return super().pop(tp, *default)


class HandOver:
    """The hand-over of one fetched message to its stream (Faust's ``on_message``)."""

    __slots__ = ("coro",)

    def __init__(self, coro: Awaitable[None]) -> None:
        self.coro = coro

    def __await__(self) -> Generator[Any, Any, None]:
        return self.coro.__await__()


class Consumer(driver.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset: ReadOffsets = ReadOffsets()
        self._waiting_since: dict[Any, float] = {}  # partition -> when its commit stalled
        on_message = self.callback
        self.callback = lambda message: HandOver(on_message(message))

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """Faust awaits each message's hand-over racing a suspended flow, at the cost of
        four tasks (:mod:`streams.eager`). A hand-over that needs no wait runs here, with
        the outcome the race would have had: it runs to its end either way, and the waits
        it raced never started. One that waits is raced from where it stopped.

        The loop still turns once per message. Without that, up to a hundred messages of a
        fetched batch went through before a rebalance's callbacks could run, and the
        failover test lost offers in six runs of thirteen (none in ten since): most likely
        reports fetched before the rebalance reached the new generation's streams, which
        skip and acknowledge them."""
        hand_over = coros[0].coro if coros and isinstance(coros[0], HandOver) else None
        if not isinstance(hand_over, Coroutine):
            return await super().wait_first(*coros, timeout=timeout)
        outcome = run_until_blocked(hand_over)
        if not isinstance(outcome, Finished):
            return await super().wait_first(outcome.as_task(), *coros[1:], timeout=timeout)
        for rival in coros[1:]:
            if isinstance(rival, Coroutine):
                rival.close()  # never started; closed, so it is not reported as never awaited
        await asyncio.sleep(0)  # a rebalance gets in between two messages, as with Faust's race
        if self._stopped.is_set() or self._crashed.is_set():
            return WaitResults([], [], True)
        return WaitResults([coros[0]], [outcome.value], False)

    def pause_partitions(self, tps: Iterable[Any]) -> None:
        """Faust pauses a partition in its own books only, and aiokafka went on fetching
        it: every table's changelog, paused once restored, was in every fetch request
        (42 partitions instead of the agents' 24 in the bench, a cost to the broker and
        the consumer thread at every fetch: several milliseconds a hop at 100 reports/s
        on the embedded broker), and the first records fetched of each were held in
        memory for good."""
        paused = set(tps)
        super().pause_partitions(paused)
        self._fetching(paused, fetch=False)

    def verify_event_path(self, now: float, tp: Any) -> None:
        """Faust's monitor reports every assigned partition that has not been fetched for
        ``stream_processing_timeout`` as an error, every few seconds; the changelogs this
        consumer stops fetching once restored are paused on purpose, not stalled."""
        if tp in self._paused_partitions:  # Faust keeps it on the consumer
            return
        super().verify_event_path(now, tp)

    def resume_partitions(self, tps: Iterable[Any]) -> None:
        resumed = set(tps)
        super().resume_partitions(resumed)
        self._fetching(resumed, fetch=True)

    def _fetching(self, tps: set[Any], *, fetch: bool) -> None:
        """Pauses or resumes fetching ``tps`` in the consumer's thread (aiokafka is not
        thread-safe), after what was asked before; partitions no longer assigned are
        left alone."""
        thread = self._thread

        def there() -> None:
            consumer = thread._consumer  # noqa: SLF001  # Faust's thread has no getter
            if consumer is None:
                return
            assigned = consumer.assignment()
            chosen = [TopicPartition(tp.topic, tp.partition) for tp in tps if tp in assigned]
            (consumer.resume if fetch else consumer.pause)(*chosen)

        with suppress(RuntimeError):  # its loop is closed: the worker is stopping
            thread.thread_loop.call_soon_threadsafe(there)

    async def perform_seek(self) -> None:
        await super().perform_seek()
        await self.rewind()

    async def rewind(self) -> None:
        """Seek each assigned agent source partition ``rewind_records`` before its
        committed offset. Changelogs are left alone: their recovery reads them whole."""
        records = int(getattr(self.app, "rewind_records", 0))
        acking = self.app.topics.acks_enabled_for
        starts = {
            tp: max(committed - records, 0)
            for tp in sorted(self.assignment())
            # nothing committed yet: the partition is read from its start anyway
            if records and (committed := self._committed_offset[tp]) and acking(tp.topic)
        }
        if starts:
            await self._seek_all(starts)
        for tp, start in starts.items():
            self._read_offset[tp] = start if start else None
            log.debug(
                "partition read again before its committed offset",
                topic=tp.topic,
                partition=tp.partition,
                offset=start,
            )

    async def seek(self, partition: Any, offset: int) -> None:
        """Any other seek (recovery, a rebalance) ends a re-read's hold."""
        self._read_offset.release(partition)
        await super().seek(partition, offset)

    async def _seek(self, partition: Any, offset: int) -> None:
        await self._seek_all({partition: offset})

    async def _seek_all(self, offsets: dict[Any, int]) -> None:
        """In the consumer's thread, where aiokafka runs, in one hand-over. Faust seeks from
        the worker's thread, and aiokafka is not thread-safe: a seek drops the partition's
        fetched records while the consumer thread may be handing them out, which crashed a
        worker during a rebalance (``KeyError`` in aiokafka's ``fetched_records``)."""
        thread = self._thread

        async def seek_there() -> None:
            for partition, offset in offsets.items():
                thread.seek(partition, offset)

        await thread.call_thread(seek_there)

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        """Faust takes a record past its read offset as proof that the offsets between
        hold no message, and commits past them. After a seek its read offset is stale (the
        seek runs in the consumer's thread, and records fetched before it are still being
        handed out), so those offsets held unprocessed messages: it lost them, and the
        offsets it added as processed repeated ones already acknowledged, after which its
        commit advanced by one offset per commit. Offsets that truly hold no message (a
        transaction marker) are found by the re-read instead."""

    def _new_offset(self, tp: Any) -> int | None:
        """The offset to commit for ``tp``; ``None`` while the message at the committed
        offset is unprocessed. Offsets a re-read found empty count as processed."""
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        until = self._read_offset.held_until(tp)
        if until is not None and committed is not None and committed > until:
            self._read_offset.release(tp)  # the re-read is done
        empty = self._read_offset.empty.get(tp)
        if empty is not None and committed is not None and committed in empty:
            del self._read_offset.empty[tp]
            missing = [offset for offset in empty if offset not in self._acked_index[tp]]
            acked.extend(missing)
            self._acked_index[tp].update(missing)
            acked.sort()
        if acked and committed is not None and min(acked) > committed:
            self._waiting_since.setdefault(tp, time.monotonic())
            return None
        self._waiting_since.pop(tp, None)
        offset: int | None = super()._new_offset(tp)
        return offset

    async def commit(self, *args: Any, **kwargs: Any) -> bool:
        committed = bool(await super().commit(*args, **kwargs))
        await self._read_stalled_partitions_again()
        return committed

    async def _read_stalled_partitions_again(self) -> None:
        now = time.monotonic()
        assigned = self.assignment()
        for tp, since in list(self._waiting_since.items()):
            if now - since < STALL_S:
                continue
            del self._waiting_since[tp]
            offset = self._committed_offset[tp]
            acked = self._acked[tp]
            if offset is None or tp not in assigned or not acked:
                continue
            log.warning(
                "a message was fetched but not processed; reading it again",
                topic=tp.topic,
                partition=tp.partition,
                offset=offset,
            )
            # held before the seek: records fetched before it may be handled meanwhile
            self._read_offset.hold(tp, offset, min(acked), max(acked))
            await self._seek(tp, offset)
