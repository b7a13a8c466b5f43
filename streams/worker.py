"""Running the stream worker as a process: topics first, then Faust."""

from __future__ import annotations

import time

import faust

from runtime.logging import get_logger
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics
from streams.context import WorkerContext

log = get_logger("worker")


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
    worker = faust.Worker(
        ctx.app,
        loglevel="warning",
        override_logging=False,
        quiet=True,
        redirect_stdouts=False,
    )
    worker.spinner = None  # a terminal spinner has no place in a JSON log
    log.info("worker starting", port=ctx.worker.web_port)
    worker.execute_from_commandline()
