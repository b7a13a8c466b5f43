"""Patch: restoring tables from their changelogs costs little per record.

Faust: ``Recovery._slurp_changelogs`` takes the changelog records one at a time: each wait
is an ``asyncio.wait_for(queue.get(), 5)`` (a task each), each record formats two debug
lines, and after each record ``need_recovery()`` rebuilds a Counter over every changelog
partition (60 here), about a third of the loop. On five years of a large trust's history
(about 100,000 records) the loop took most of a 15-20 s restart, while applying the records
to the tables took 0.26 s.
We need: the same loop at a constant cost per record: the records already queued are taken
together, a wait has no timer (the five-second quiet check, which also finds aborted
transactions, is its own task), and whether recovery has ended is known from the set of
active partitions still short of their end offset, which a record reaching its end leaves.
The set is read again from Faust's counters whenever Faust changes them outside the loop (a
rebalance, a revocation, a recovery starting, the quiet check), and the end is signalled
only once Faust's own ``need_recovery()`` agrees, so recovery ends when every active
changelog partition has reached the end offset Faust found for it, as before. A record of a
partition neither active nor standby is skipped (Faust applied it to the previous record's
table).
Upstream: none filed that we found for the per-record cost; slow restarts are reported in
robinhood/faust#328, and faust-streaming/faust#432 shows the recovery loop's stats.
Proof: ``tests/unit/test_recovery.py`` (ends at the last record of the last partition with
every record applied once, a revoked partition does not hold it open, a stray record
applied nowhere), ``tests/integration/test_faults.py`` and
``tests/integration/test_ledger_restore.py`` (restores across restarts and rebalances),
``python -m bench.history --years 5`` (``restart_ready_s_5y``).
Retire: when Faust's loop checks the end incrementally and waits without a task per record,
delete this module and the ``TableManager`` default in :mod:`.app`.
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import Any

from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP
from faust.utils.tracing import finish_span
from mode import Service

logger = logging.getLogger("faust.tables.recovery")

BATCH = 4096
"""Records taken from the queue before the end of recovery is checked (Faust's own queue
holds ``stream_buffer_maxsize``, 4096 by default)."""
QUEUE_WAIT_S = 5.0
"""Faust's wait for a record before it checks for an aborted transaction."""


class BatchedRecovery(Recovery):
    _behind: set[TP] | None = None
    """Active partitions known to be short of their end offset; None: not known, Faust's
    counters are read again. Faust changes those counters outside the loop only in a
    rebalance, a revocation and when a recovery starts, so those forget it."""

    _taken = 0
    """Records taken so far: the quiet check looks whether any came since its last turn."""

    @Service.task
    async def _slurp_changelogs(self) -> None:
        queue = self.tables.changelog_queue
        while not self.should_stop:
            try:
                self.signal_recovery_end.clear()
                # no timeout per wait (a timer each, or a task with wait_for): the quiet
                # check is its own task
                first = queue.get_nowait() if not queue.empty() else await queue.get()
                await self._take(first)
                taken = 1
                while taken < BATCH and not queue.empty():
                    await self._take(queue.get_nowait())
                    taken += 1
                self._taken += taken
                await self._check_ended()
                standby_ready = self._standbys_span is None and self.tables.standbys_ready
                if not standby_ready and not self.standby_remaining_total():
                    if self._standbys_span:
                        finish_span(self._standbys_span)
                        self._standbys_span = None
                    self.tables.on_standbys_ready()
            except Exception as exc:
                logger.warning("Error in recovery %r", exc)

    @Service.task
    async def _check_when_quiet(self) -> None:
        """Faust's check when no record came for :data:`QUEUE_WAIT_S` (and, in a
        transaction, for an aborted one), made between one and two waits after the last."""
        quiet_turns = 0
        seen = self._taken
        while not self.should_stop:
            await self.sleep(QUEUE_WAIT_S)
            if self._taken != seen:
                seen = self._taken
                quiet_turns = 0
                continue
            quiet_turns += 1
            try:
                aborted = self.app.in_transaction and quiet_turns > 1
                await self._check_ended(quiet=True, aborted=aborted)
            except Exception as exc:
                logger.warning("Error in recovery %r", exc)

    async def _take(self, event: Any) -> None:
        """Faust's handling of one record, without its per-record end checks."""
        now = monotonic()
        tp = event.message.tp
        offset = event.message.offset
        is_active = tp in self.active_tps
        if is_active:
            offsets = self.active_offsets
            self._active_events_received_at[tp] = now
        elif tp in self.standby_tps:
            offsets = self.standby_offsets
            self._standby_events_received_at.setdefault(tp, now)
        else:
            logger.warning("recovery unknown topic %s offset %s", tp, offset)
            return
        table = self.tp_to_table[tp]
        bufsize = self.buffer_sizes.get(tp)
        if bufsize is None:
            size = table.recovery_buffer_size if is_active else table.standby_buffer_size
            bufsize = self.buffer_sizes[tp] = size
        seen = offsets.get(tp)
        if seen is not None and offset <= seen:
            return
        offsets[tp] = offset
        behind = self._behind
        if is_active and behind and tp in behind and offset >= self.active_highwaters[tp]:
            behind.discard(tp)
        buffer = self.buffers[table]
        buffer.append(event)
        await table.on_changelog_event(event)
        if len(buffer) >= bufsize:
            table.apply_changelog_batch(buffer)
            buffer.clear()
            self._last_flush_at = now
        if is_active:
            after = monotonic()
            last = self._last_active_event_processed_at
            if last is not None:
                self._processing_times.append(after - last)
                if len(self._processing_times) > self.num_samples_required_for_estimate:
                    self._processing_times.popleft()
            self._last_active_event_processed_at = after

    async def _check_ended(self, *, quiet: bool = False, aborted: bool = False) -> None:
        """Faust's ``_maybe_signal_recovery_end``; ``quiet``: no record came for a while, the
        counters are read in full."""
        if quiet:
            self._behind = None
        if aborted:
            await self._skip_aborted_transactions()
        if not self.in_recovery or self._still_behind():
            return
        if self.need_recovery():  # the partitions known behind were not all: read again
            self._behind = None
            return
        self.flush_buffers()
        self._set_recovery_ended()
        if self._actives_span is not None:
            self._actives_span.set_tag("Actives-Ready", True)
        self.signal_recovery_end.set()

    def _still_behind(self) -> bool:
        """Whether an active partition is short of its end offset, in constant time while
        the known set holds; Faust's ``need_recovery`` reads every partition's counters."""
        if self._behind is None:
            self._behind = {tp for tp, left in self.active_remaining().items() if left > 0}
        return bool(self._behind)

    def _set_recovery_started(self) -> None:
        super()._set_recovery_started()
        self._behind = None

    def revoke(self, tp: TP) -> None:
        super().revoke(tp)
        self._behind = None

    async def on_rebalance(
        self,
        assigned: set[TP],
        revoked: set[TP],
        newly_assigned: set[TP],
        generation_id: int = 0,
    ) -> None:
        self._behind = None
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)
        self._behind = None

    async def _skip_aborted_transactions(self) -> None:
        """Faust's ``detect_aborted_tx``: a partition whose position passed its end offset
        without records (an aborted transaction's markers) has reached its end."""
        offsets = self.active_offsets
        for tp, highwater in self.active_highwaters.items():
            if highwater is not None and offsets[tp] is not None and offsets[tp] < highwater:
                position = await self.app.consumer.position(tp)
                if position is not None and position >= highwater:
                    logger.info("Aborted tx until highwater for %s", tp)
                    offsets[tp] = highwater
                    self._behind = None


class BatchedRecoveryTables(TableManager):
    """Faust's table manager with :class:`BatchedRecovery`."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = BatchedRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
