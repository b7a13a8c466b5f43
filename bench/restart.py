"""How fast a worker is back after a restart, and its memory, on years of history.

A restart is timed from starting the process to its readiness answering 200, on topics
that exist: empty ones, and those :mod:`bench.history` makes for one and five years of a
large trust (the one-year figure shows whether the time follows the installation's age or
its retention). Each figure is the median of a few starts. Memory is the resident size of a
worker on the five-year history whose directory is then grown to 100,000 people.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from bench import history
from bench.memory import settled_rss
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics
from tools.worker import WorkerProcess

STARTS = int(os.environ.get("BENCH_RESTARTS", "3"))
"""Starts each restart figure is the median of."""
DIRECTORY_FOR_MEMORY = 100_000


def ready_s(kafka: KafkaSettings, app_id: str, workdir: Path) -> float:
    worker = WorkerProcess(
        kafka,
        app_id,
        workdir,
        policy=history.DEFAULT_POLICY,
        extra_env={"PSB_LOG_LEVEL": "warning"},
    )
    started = time.monotonic()
    worker.start(ready_timeout=300)
    ready = time.monotonic() - started
    worker.stop()
    return ready


def restored_ready_s(installation: history.Installation, workdir: Path, starts: int) -> float:
    """The median start to ready on ``installation``; each start must show the entries the
    history left waiting (the proof that it was restored, not skipped). Reminders that came
    due since the history was made have gone out, so up to a tenth may be missing."""
    times = []
    for _ in range(starts):
        ready, waiting = history.ready_seconds(installation, workdir)
        if waiting < 0.9 * installation.pending:
            raise RuntimeError(
                f"{installation.app_id}: {waiting:.0f} of {installation.pending} waiting "
                "entries restored"
            )
        times.append(ready)
    return statistics.median(times)


def measure(bootstrap: str, workdir: Path, starts: int = STARTS) -> dict[str, float]:
    """``restart_ready_s_empty``, ``_1y``, ``_5y``, ``_5y_100k_directory`` and
    ``worker_rss_mb_5y``."""
    empty = history.kafka_at(bootstrap, "restart-empty.")
    ensure_topics(empty, Topics(empty.topic_prefix).specs())
    ready_s(empty, "restart-empty", workdir)  # the first start creates the changelogs
    results = {
        "restart_ready_s_empty": statistics.median(
            ready_s(empty, "restart-empty", workdir) for _ in range(starts)
        )
    }
    installed = history.build(bootstrap, workdir, [1, 5])
    for years, installation in installed.items():
        results[f"restart_ready_s_{years}y"] = restored_ready_s(installation, workdir, starts)
    five = installed[5]
    trust = history.Trust()
    history.load_directory(five.kafka, trust.people, DIRECTORY_FOR_MEMORY, trust)
    worker = WorkerProcess(
        five.kafka,
        five.app_id,
        workdir,
        policy=history.DEFAULT_POLICY,
        extra_env={"PSB_LOG_LEVEL": "warning"},
    )
    started = time.monotonic()
    worker.start(ready_timeout=300)
    results["restart_ready_s_5y_100k_directory"] = time.monotonic() - started
    try:
        results["worker_rss_mb_5y"] = settled_rss(worker)
    finally:
        worker.stop()
    return results
