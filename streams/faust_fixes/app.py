"""Faust's app with this package's consumer, producer and streams: the one thing the rest of
the worker takes from here, with the :class:`Outbox` it owns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver

from streams.faust_fixes.batched_producer import Outbox, SettlingProducer
from streams.faust_fixes.consumer import Consumer
from streams.faust_fixes.lingering_batches import LingeringStream
from streams.faust_fixes.recovery import BatchedRecoveryTables

StartTask = Callable[[], Awaitable[None]]


class _Transport(driver.Transport):
    Consumer = Consumer
    Producer = SettlingProducer


class App(faust.App):
    """``fetch_wait_ms``: the fetch wait while records flow (:mod:`.fetch_wait`);
    ``rewind_records``: see :mod:`.rewind`; ``embedded_broker_quirks``: the embedded
    broker's (Tansu 0.6) high watermark can count only the first record of the last record
    batch, so Faust's recovery consistency check is off (it crashed a worker in a rolling
    update: 239 > 238, while its tables held that partition's data) and the outbox sends
    each changelog partition's last record alone. Off, Faust works as it does on Kafka.

    Tables are restored by :mod:`.recovery`. Faust starts ``app.task`` tasks only once the
    tables are restored; :meth:`task_at_start` starts one with the app instead, for work
    that needs no table (the replicated views' load overlaps the restore)."""

    outbox: Outbox

    def __init__(
        self,
        *args: Any,
        fetch_wait_ms: int = 1500,
        rewind_records: int = 0,
        embedded_broker_quirks: bool = False,
        **kwargs: Any,
    ) -> None:
        self.fetch_wait_ms = fetch_wait_ms
        self.rewind_records = rewind_records
        kwargs.setdefault("Stream", LingeringStream)
        kwargs.setdefault("TableManager", BatchedRecoveryTables)
        self._at_start: list[StartTask] = []
        if embedded_broker_quirks:
            kwargs["recovery_consistency_check"] = False
        super().__init__(*args, **kwargs)
        # the producer settles it before each commit
        self.outbox = Outbox(self, last_record_alone=embedded_broker_quirks)

    def task_at_start(self, fun: StartTask) -> StartTask:
        """Run ``fun()`` from the app's start, before the tables are restored; it is
        cancelled when the app stops, as an ``app.task`` is."""
        self._at_start.append(fun)
        return fun

    async def on_start(self) -> None:
        await super().on_start()
        for fun in self._at_start:
            self.add_future(fun())

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> Any:
        return _Transport(self.conf.broker_producer, self)
