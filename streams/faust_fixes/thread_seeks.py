"""Patch: seeks run in the consumer's thread.

Faust: seeks from the worker's thread, while aiokafka runs in Faust's consumer thread; aiokafka
is not thread-safe, and a seek drops the partition's fetched records while that thread may be
handing them out (``KeyError`` in aiokafka's ``fetched_records``: a worker crashed during a
rebalance, more often with :mod:`streams.faust_fixes.rewind`'s many seeks).
We need: every seek handed to the consumer's thread, all of one call in one hand-over.
Upstream: none filed that we found.
Proof: ``tests/unit/test_worker_transport.py`` (seeks in the thread), and the rebalances of
``tests/integration/test_faults.py``.
Retire: when Faust seeks through its consumer thread (``AIOKafkaConsumerThread.seek`` called
via ``call_thread``) in ``Consumer._seek``; delete this module and ``rewind`` calls
``self.seek`` per partition.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver


class ThreadSeeks(driver.Consumer):
    async def _seek(self, partition: Any, offset: int) -> None:
        await self._seek_all({partition: offset})

    async def _seek_all(self, offsets: dict[Any, int]) -> None:
        thread = self._thread

        async def seek_there() -> None:
            for partition, offset in offsets.items():
                thread.seek(partition, offset)

        await thread.call_thread(seek_there)
