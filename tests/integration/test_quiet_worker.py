"""A worker at rest is quiet: with the stall report shortened to two seconds, a worker that
has handled a report and then waits writes no warning or error line, although Faust's monitor
checks every assigned partition (the restored changelogs it stops fetching among them); and
once its fetches have backed off to their longest wait, the next report still gets through."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from runtime.settings import KafkaSettings
from runtime.topics import Topics
from tests.unit.helpers import native_report
from tools.kafka import produce
from tools.worker import WorkerProcess

STALL_REPORT_S = 2
IDLE_S = 12


def loud_lines(log: str) -> list[str]:
    """Log lines above info (the worker logs JSON; anything else is loud too)."""
    loud = []
    for line in filter(None, log.splitlines()):
        try:
            level = json.loads(line).get("level", "")
        except ValueError:
            level = "unparsed"
        if level not in {"debug", "info"}:
            loud.append(line)
    return loud


def test_an_idle_worker_logs_nothing_above_info(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    worker = WorkerProcess(
        kafka,
        f"quiet-{uuid.uuid4().hex[:6]}",
        tmp_path,
        extra_env={"PSB_WORKER_STALL_REPORT_S": str(STALL_REPORT_S)},
    ).start()
    try:
        produce(kafka, Topics(kafka.topic_prefix).incident_reports, [json.dumps(native_report())])
        worker.wait_metric('psb_reports_total{outcome="signal"}', 1)
        time.sleep(IDLE_S)  # the monitor checks every few seconds; each check would log
        assert worker.process is not None and worker.process.poll() is None
        # at rest its fetches wait longer (it sleeps); a report still gets through
        later = native_report(report_id="AV-2")
        produce(kafka, Topics(kafka.topic_prefix).incident_reports, [json.dumps(later)])
        worker.wait_metric('psb_reports_total{outcome="signal"}', 2, timeout=30)
    finally:
        worker.stop()
    assert loud_lines(worker.log()) == []
