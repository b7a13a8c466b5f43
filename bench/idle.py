"""What a worker at rest costs: the CPU of the worker process alone, in % of one core,
averaged over a minute of no traffic after it is ready, with the production defaults of
the settings that wake it (fetch wait, batch wait, scheduler tick, policy reload)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from runtime.settings import KafkaSettings
from tools.worker import WorkerProcess

IDLE_S = 60.0
SETTLE_S = 5.0
"""After ready: the agents' first fetches and the changelogs' recovery are start-up, not rest."""
DEFAULTS = {
    # worker_env sets test values (quick ticks); these are the settings' own defaults
    "PSB_WORKER_SCHEDULER_INTERVAL_MS": "1000",
    "PSB_POLICY_RELOAD_INTERVAL_S": "5",
    "PSB_LOG_LEVEL": "warning",
    # the bench's groups use a short session to join quickly; at rest the heartbeat follows it
    "PSB_KAFKA_SESSION_TIMEOUT_MS": str(KafkaSettings.model_fields["session_timeout_ms"].default),
}


def cpu_seconds(pid: int) -> float:
    """User and system time of ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kafka: KafkaSettings, workdir: Path, idle_s: float = IDLE_S) -> float:
    """``worker_idle_cpu_pct``: start a worker on an otherwise quiet broker, let it settle,
    and average its CPU over ``idle_s``."""
    worker = WorkerProcess(kafka, f"bench-idle-{uuid.uuid4().hex[:6]}", workdir, extra_env=DEFAULTS)
    worker.start(ready_timeout=180)
    try:
        assert worker.process is not None
        pid = worker.process.pid
        time.sleep(SETTLE_S)
        used, started = cpu_seconds(pid), time.monotonic()
        time.sleep(idle_s)
        return 100 * (cpu_seconds(pid) - used) / (time.monotonic() - started)
    finally:
        worker.stop()


if __name__ == "__main__":  # a quick look: python -m bench.idle [seconds]
    import sys
    import tempfile

    from bench.__main__ import kafka_for
    from runtime.broker import EmbeddedBroker

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_S
    directory = Path(tempfile.mkdtemp(prefix="psb-idle-"))
    with EmbeddedBroker(log_file=directory / "broker.log") as broker:
        settings = kafka_for(broker.bootstrap, f"idle{uuid.uuid4().hex[:4]}.")
        print(f"worker_idle_cpu_pct {measure(settings, directory, seconds):.2f}")
