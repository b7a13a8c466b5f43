"""The stream worker as a real process, as it runs in production."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

from runtime.broker import free_port
from runtime.settings import KafkaSettings
from schemas.boundary import PseudonymKey, pseudonymize_staff
from tools.process import read_log, start_command, stop_gracefully, wait_healthy

TEST_PSEUDONYM_KEY = "test-only-pseudonym-key-0123456789abcdef"
TEST_KEY = PseudonymKey(TEST_PSEUDONYM_KEY.encode())


def pseudonym(staff_ref: str) -> str:
    """The staff pseudonym the worker and the ingest server of the tests give ``staff_ref``."""
    return pseudonymize_staff(TEST_KEY, staff_ref)


def worker_env(kafka: KafkaSettings, app_id: str, port: int, data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSB_")}
    env.update(
        {
            "PSB_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "PSB_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "PSB_KAFKA_PARTITIONS": str(kafka.partitions),
            "PSB_KAFKA_SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
            # the tests run on the embedded broker unless told otherwise; on Kafka the
            # workarounds cost a round trip per commit and nothing else
            "PSB_KAFKA_EMBEDDED_BROKER_QUIRKS": "true",
            "PSB_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
            "PSB_WORKER_APP_ID": app_id,
            "PSB_WORKER_WEB_HOST": "127.0.0.1",
            "PSB_WORKER_WEB_PORT": str(port),
            "PSB_WORKER_DATA_DIR": str(data_dir),
            "PSB_LOG_LEVEL": "info",
            "PSB_WORKER_SCHEDULER_INTERVAL_MS": "200",
            "PSB_POLICY_RELOAD_INTERVAL_S": "0.5",
        }
    )
    return env


IMMEDIATE_POLICY = Path(__file__).resolve().parent / "immediate-policy.yaml"


class WorkerProcess:
    """``policy`` defaults to the test policy that sends at once (no delay, no quiet hours,
    no reminder); pass another file to test timing."""

    def __init__(
        self,
        kafka: KafkaSettings,
        app_id: str,
        workdir: Path,
        policy: Path = IMMEDIATE_POLICY,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log_path = workdir / f"worker-{app_id}-{self.port}.log"
        self.env = worker_env(kafka, app_id, self.port, workdir / f"data-{self.port}")
        self.env["PSB_POLICY_FILE"] = str(policy)
        self.env.update(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 90.0) -> WorkerProcess:
        self.process = start_command(["worker"], self.env, self.log_path)
        self.wait_ready(ready_timeout)
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        wait_healthy(self.process, self.url("/health/ready"), self.log_path, timeout)

    def metrics(self) -> dict[str, float]:
        """Prometheus samples as ``{'name{labels}': value}``."""
        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as response:
            text = response.read().decode()
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def metric(self, sample: str) -> float:
        return self.metrics().get(sample, 0.0)

    def wait_metric(self, sample: str, at_least: float, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        value = 0.0
        while time.monotonic() < deadline:
            value = self.metric(sample)
            if value >= at_least:
                return value
            time.sleep(0.25)
        raise AssertionError(f"{sample} stayed at {value}, expected >= {at_least}\n{self.log()}")

    def stop(self) -> None:
        stop_gracefully(self.process, timeout=30)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return read_log(self.log_path)

    def log_records(self) -> list[dict[str, object]]:
        records = []
        for line in self.log().splitlines():
            with suppress(ValueError):
                records.append(json.loads(line))
        return records
