"""Running the stream worker as a process: topics first, then Faust."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import faust

from runtime.exit_codes import EXIT_UNAVAILABLE
from runtime.logging import get_logger
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics
from streams.context import WorkerContext

log = get_logger("worker")


class BoundedStopWorker(faust.Worker):
    """Faust's worker, whose stop ends within ``stop_timeout_s``: while the broker does not
    answer, Faust's stop waits for its producer (up to its 20-minute request timeout) and
    an operator's Ctrl-C seemed to hang. Exiting then is a crash the ledgers are built for:
    nothing unsent was committed."""

    def __init__(self, *args: Any, stop_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop_timeout_s = stop_timeout_s

    async def on_stop(self) -> None:  # mode's hook, called first when the worker stops
        await super().on_stop()
        timer = threading.Timer(self.stop_timeout_s, _give_up, args=(self.stop_timeout_s,))
        timer.daemon = True
        timer.start()


def _give_up(waited_s: float) -> None:
    log.error(
        "the worker did not stop in time, the broker is not answering; exiting, what was "
        "not sent is done again at the next start (PSB_WORKER_STOP_TIMEOUT_S)",
        duration_ms=int(waited_s * 1000),
    )
    sys.stderr.flush()
    os._exit(EXIT_UNAVAILABLE)


def wait_and_create_topics(kafka: KafkaSettings, retry_every_s: float = 2.0) -> None:
    """Create missing topics, waiting for the broker as long as it takes."""
    attempt = 0
    while True:
        attempt += 1
        try:
            created = ensure_topics(
                kafka, Topics.of(kafka).specs(), timeout=kafka.connect_timeout_s
            )
        except Exception as exc:
            log.warning(
                "broker not reachable, retrying",
                bootstrap_servers=kafka.bootstrap_servers,
                attempt=attempt,
                delay_s=retry_every_s,
                exception=type(exc).__name__,
            )
            time.sleep(retry_every_s)
            continue
        log.info("topics ready", count=created, bootstrap_servers=kafka.bootstrap_servers)
        return


def run_worker(ctx: WorkerContext) -> None:
    wait_and_create_topics(ctx.kafka)
    worker = BoundedStopWorker(
        ctx.app,
        stop_timeout_s=ctx.worker.stop_timeout_s,
        loglevel="warning",
        override_logging=False,
        quiet=True,
        redirect_stdouts=False,
    )
    worker.spinner = None  # a terminal spinner has no place in a JSON log
    log.info("worker starting", port=ctx.worker.web_port)
    worker.execute_from_commandline()
