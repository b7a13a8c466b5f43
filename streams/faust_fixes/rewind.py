"""Patch: a message Faust leaves unprocessed in a rebalance is read again.

Faust: during a rebalance its consumer can lose track of messages in flight: a stream skips
a message read while the flow is suspended, or one from an earlier generation, and
acknowledges it anyway; a fetched message can be dropped before it reaches the stream; a
record past the read offset is taken as proof that the offsets between hold no message
(``Consumer._add_gap``); and the commit check lets the run of acknowledged offsets start one
past the committed offset, passing that message (``Consumer._new_offset``).
We need: no offer lost, so

* **rewind**: after every assignment each agent source partition is read again from
  ``rewind_records`` before its committed offset (``PSB_WORKER_REWIND_RECORDS``), more than
  the worker keeps in flight (``runtime.settings.IN_FLIGHT_RECORDS`` plus a batch);
* **no commit past the committed offset's message** while it is unprocessed, and no gaps
  inferred from a later record;
* **re-read**: a partition whose commit waits at an unprocessed message for
  :data:`STALL_S` is read again from the committed offset (:class:`ReadOffsets`).

What is read twice the ledgers absorb: every agent sends its output before it records the
ledger entry that vouches for it.
Upstream: faust-streaming/faust#216, #221 (prefetched events after a rebalance), #318 and
robinhood/faust#681 (commit offset off by one).
Proof: ``tests/unit/test_worker_transport.py`` (each rule), ``tests/integration/test_faults.py``
(SIGKILL, failover, scale-out and rolling restart lose and double nothing).
Retire: only when Faust commits no acknowledged offset past an unprocessed message across
rebalances; run the fault tests repeatedly without this module (``Consumer`` without
:class:`Rewinding`, ``rewind_records`` at 0) before removing it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from runtime.logging import get_logger
from streams.faust_fixes.thread_seeks import ThreadSeeks

log = get_logger("consumer")
STALL_S = 5.0


class ReadOffsets(defaultdict[Any, int | None]):
    """Faust's offset of the last record read per partition, which a re-read can hold.

    Faust yields a record only at or past the read offset, and takes a jump past it as
    offsets holding no message, which it may commit past. During a re-read, records
    fetched before its seek (further on) and the re-read's own (from ``start``) arrive
    interleaved, so no one read offset serves both: when it followed the records, each
    record fetched before the seek made Faust drop the rest of the re-read. So while held
    the offset reads as unknown: Faust yields every record and infers no gaps, and the
    ledgers drop the repeats. The hold ends when the commit passes ``until``, the last
    offset processed when the re-read began; the read offset is then the highest one read.

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


class Rewinding(ThreadSeeks):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset: ReadOffsets = ReadOffsets()
        self._waiting_since: dict[Any, float] = {}  # partition -> when its commit stalled

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

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        """No gaps from a later record: after a seek Faust's read offset is stale (the seek
        runs in the consumer's thread while records fetched before it are handed out), so
        the offsets it took as empty held unprocessed messages. Offsets that truly hold no
        message (a transaction marker) are found by the re-read instead."""

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
