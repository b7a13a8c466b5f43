"""Resident memory of a worker holding a large staff directory."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from bench.pipeline import QUIET, load_directory
from runtime.settings import KafkaSettings
from tools.worker import WorkerProcess


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def worker_rss(kafka: KafkaSettings, workdir: Path, people: int) -> float:
    load_directory(kafka, people)
    worker = WorkerProcess(kafka, f"bench-mem-{uuid.uuid4().hex[:6]}", workdir, extra_env=QUIET)
    worker.start(ready_timeout=300)
    try:
        return settled_rss(worker)
    finally:
        worker.stop()


def settled_rss(worker: WorkerProcess) -> float:
    """Resident megabytes of a ready worker, once start-up garbage has settled."""
    time.sleep(3)
    assert worker.process is not None
    return rss_mb(worker.process.pid)
