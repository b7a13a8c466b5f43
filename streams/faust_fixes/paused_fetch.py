"""Patch: a partition Faust pauses is no longer fetched.

Faust: pauses a partition in its own books only (``Consumer.pause_partitions``), and aiokafka
goes on fetching it: every table's changelog, paused once restored, stayed in every fetch
request (42 partitions instead of the agents' 24 in the bench; several milliseconds a hop on
the embedded broker), and its first fetched records were held in memory for good. Its
monitor then reports those paused changelogs as stalled (``verify_event_path``).
We need: aiokafka told to pause and resume too, in its own thread; paused partitions left
out of the stall report.
Upstream: none filed that we found.
Proof: ``tests/unit/test_worker_transport.py`` (pause reaches aiokafka) and
``tests/integration/test_quiet_worker.py`` (an idle worker logs no stall).
Retire: when ``faust.transport.drivers.aiokafka.Consumer.pause_partitions`` calls aiokafka's
``pause``; delete this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as driver


class PausedFetch(driver.Consumer):
    def pause_partitions(self, tps: Iterable[Any]) -> None:
        paused = set(tps)
        super().pause_partitions(paused)
        self._fetching(paused, fetch=False)

    def resume_partitions(self, tps: Iterable[Any]) -> None:
        resumed = set(tps)
        super().resume_partitions(resumed)
        self._fetching(resumed, fetch=True)

    def verify_event_path(self, now: float, tp: Any) -> None:
        """Changelogs stopped once restored are paused on purpose, not stalled."""
        if tp in self._paused_partitions:
            return
        super().verify_event_path(now, tp)

    def _fetching(self, tps: set[Any], *, fetch: bool) -> None:
        """Pauses or resumes ``tps`` in the consumer's thread (aiokafka is not thread-safe),
        after what was asked before; partitions no longer assigned are left alone."""
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
