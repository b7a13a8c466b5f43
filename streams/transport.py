"""Faust's aiokafka transport with a bounded fetch wait.

Faust builds the worker's consumer with ``fetch_max_wait_ms=1500`` and no setting to change
it. A broker answers a fetch as soon as data arrives only if it parks the request; brokers
that do not (the embedded Tansu among them) hold every empty fetch for the whole wait, so
each hop of the pipeline added up to 1.5 s. :class:`App` takes the wait as an argument
(``PSB_WORKER_FETCH_WAIT_MS``); a shorter wait costs a few more empty fetches per second.

Its consumer reads a window before the committed offsets again after every assignment, so a
message Faust committed past during a rebalance is still processed (see
:mod:`streams.consumer`). Its producer lets the worker's outbox settle before Faust commits
offsets (see :mod:`streams.outbox`).
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver

from streams.consumer import Consumer
from streams.outbox import Outbox


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # read when the consumer starts its fetcher, so setting it before start is enough
        consumer._fetch_max_wait_ms = self.app.fetch_wait_ms  # type: ignore[attr-defined]  # noqa: SLF001
        return consumer


class _Consumer(Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Producer(driver.Producer):
    async def flush(self) -> None:
        """Faust flushes before it commits offsets: the outbox settles first."""
        outbox = self.app.outbox  # type: ignore[attr-defined]  # our App, typed as faust's
        if outbox is not None:
            await outbox.settle()
        await super().flush()


class _Transport(driver.Transport):
    Consumer = _Consumer
    Producer = _Producer


class App(faust.App):
    outbox: Outbox | None = None

    def __init__(
        self, *args: Any, fetch_wait_ms: int = 1500, rewind_records: int = 0, **kwargs: Any
    ) -> None:
        self.fetch_wait_ms = fetch_wait_ms
        self.rewind_records = rewind_records
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> Any:
        return _Transport(self.conf.broker_producer, self)
