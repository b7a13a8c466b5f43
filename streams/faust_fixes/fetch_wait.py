"""Patch: the worker's fetch wait is short while records flow and grows while none come.

Faust: builds the worker's consumer with ``fetch_max_wait_ms=1500`` and no setting to change
it. A broker that parks a fetch answers as soon as data arrives (Kafka does); one that does
not (the embedded Tansu) holds every empty fetch for the whole wait, so each hop of the
pipeline waited up to 1.5 s. A short wait fixes that but makes an idle worker fetch about
fifty times a second (7 % of a core at rest, and as much again in the embedded broker).
We need: the short wait (``PSB_WORKER_FETCH_WAIT_MS``) while records come, and at rest
:data:`LONGEST_WAIT_MS`: once no fetch returned records for :data:`QUIET_S`, each empty
fetch doubles the next one's wait up to that, and a fetch that returns records brings it
back to the short one; under load the wait stays short. On Kafka the longer wait costs
nothing (the broker answers when data arrives); on the embedded broker the first record
after a quiet spell waits up to :data:`LONGEST_WAIT_MS` for the fetch in flight, and the
next hops are quick again.
Upstream: none filed that we found (Faust has no setting for the wait).
Proof: ``tests/unit/test_worker_transport.py`` (the wait follows the fetches),
``tests/integration/test_quiet_worker.py`` (a report after a quiet spell still arrives),
``bench/idle.py`` (``worker_idle_cpu_pct``).
Retire: when Faust passes a configurable wait and the deployment's broker parks fetches,
``fetch_max_wait_ms`` alone does; delete this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from faust.transport.drivers import aiokafka as driver

LONGEST_WAIT_MS = 1500
"""Faust's own wait; under the monitor's stall report (``PSB_WORKER_STALL_REPORT_S``)."""
QUIET_S = 1.0
"""How long no fetch returned records before the wait grows: under load it stays short."""


class BackingOffWait:
    """Takes the place of a started aiokafka fetcher's ``_proc_fetch_request`` (which says
    whether the fetch added records) and sets the wait of the next fetch request."""

    def __init__(
        self,
        fetcher: Any,
        shortest_ms: int,
        longest_ms: int = LONGEST_WAIT_MS,
        *,
        quiet_s: float = QUIET_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shortest_ms = shortest_ms
        self.longest_ms = max(longest_ms, shortest_ms)
        self._quiet_s = quiet_s
        self._clock = clock
        self._last_records = clock()
        self._fetcher = fetcher
        self._fetch = fetcher._proc_fetch_request  # noqa: SLF001  # no hook for the wait
        fetcher._fetch_max_wait_ms = shortest_ms  # noqa: SLF001
        fetcher._proc_fetch_request = self  # noqa: SLF001
        # its loop also woke every 0.2 s with a fetch in flight; every change it acts on
        # (records consumed, a seek, a resume, new metadata) wakes it anyway
        fetcher._fetcher_timeout = self.longest_ms / 1000  # noqa: SLF001

    @property
    def wait_ms(self) -> int:
        return int(self._fetcher._fetch_max_wait_ms)  # noqa: SLF001

    async def __call__(self, assignment: Any, node_id: Any, request: Any) -> bool:
        got_records = bool(await self._fetch(assignment, node_id, request))
        now = self._clock()
        if got_records:
            self._last_records = now
            wait = self.shortest_ms
        elif now - self._last_records < self._quiet_s:
            wait = self.shortest_ms
        else:
            wait = min(self.longest_ms, 2 * self.wait_ms)
        self._fetcher._fetch_max_wait_ms = wait  # noqa: SLF001  # read for the next request
        return got_records


class ConsumerThread(driver.AIOKafkaConsumerThread):
    async def on_start(self) -> None:
        await super().on_start()
        consumer = self._consumer
        if consumer is not None:  # started: its fetcher exists
            shortest = int(getattr(self.app, "fetch_wait_ms", LONGEST_WAIT_MS))
            BackingOffWait(consumer._fetcher, shortest)  # noqa: SLF001


class FetchWait(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)
