"""The worker's Faust consumer: it does not commit past a message no agent processed.

Faust commits, per partition, the run of acknowledged offsets that follows the committed
one. Three holes let that run pass a message nobody processed; in a two-worker failover
the survivor lost offers through them:

* While a rebalance is under way (flow suspended), or for a message fetched in an earlier
  generation, Faust's stream skips the message and acknowledges it anyway.
  :meth:`Consumer.ack` does not count such an acknowledgement.
* Faust's check lets the run start one past the committed offset, which is the next one to
  read, so a commit could pass that one message. :meth:`Consumer._new_offset` holds the
  commit back instead.
* A message can be fetched and never reach the stream (a delivery cut short by a
  rebalance, a re-read dropped as already read). The partition then waits at that message,
  so after :data:`STALL_S` it is read again from the committed offset. If it still waits
  at the same offset after that, the offset holds no message (deleted by retention, say)
  and Faust's own rule decides, so a partition never stays stuck.

Messages read twice are what the ledgers absorb.
"""

from __future__ import annotations

import time
from typing import Any

from faust.transport.drivers import aiokafka as driver
from faust.types.tuples import Message, ack_lock
from mode.utils.futures import notify

from runtime.logging import get_logger

log = get_logger("consumer")
STALL_S = 5.0


class Consumer(driver.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting_since: dict[Any, float] = {}  # partition -> when its commit stalled
        self._read_again_at: dict[Any, int] = {}  # partition -> offset already read again

    def ack(self, message: Message) -> bool:
        """Counts an offset as safe to commit only for a message a stream could process."""
        app = self.app
        if app.flow_control.is_active() and message.generation_id == app.consumer_generation_id:
            return bool(super().ack(message))
        with ack_lock:  # skipped: not processed; read again after the rebalance's seek
            message.acked = True
            self._unacked_messages.discard(message)
            notify(self._waiting_for_ack)
        return False

    def _new_offset(self, tp: Any) -> int | None:
        """The offset to commit for ``tp``; ``None`` while the message at the committed
        offset is unprocessed. Where Faust knows of gaps in the partition, or the message
        was read again and still did not come, Faust's own rule decides."""
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if (
            acked
            and committed is not None
            and not self._gap[tp]
            and min(acked) > committed
            and self._read_again_at.get(tp) != committed
        ):
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
            if offset is None or tp not in assigned:
                continue
            self._read_again_at[tp] = offset
            log.warning(
                "a message was fetched but not processed; reading it again",
                topic=tp.topic,
                partition=tp.partition,
                offset=offset,
            )
            await self.seek(tp, offset)
