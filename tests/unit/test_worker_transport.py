"""The worker's Faust transport: the fetch wait it asks of the broker."""

from __future__ import annotations

import asyncio

from streams.transport import App


def _app(fetch_wait_ms: int = 1500) -> App:
    return App("transport-test", fetch_wait_ms=fetch_wait_ms, broker="kafka://localhost:1")


def test_the_worker_consumer_waits_at_most_the_configured_time_per_fetch() -> None:
    async def scenario() -> int:
        app = _app(fetch_wait_ms=7)
        thread = app.consumer._thread
        try:
            consumer = thread._create_worker_consumer(app.transport)
            wait = int(consumer._fetch_max_wait_ms)
            await consumer.stop()  # never started: closes its client, no broker needed
            return wait
        finally:
            thread.thread_loop.close()

    assert asyncio.run(scenario()) == 7  # Faust's own consumer would wait 1500 ms
