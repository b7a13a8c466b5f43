"""``peer-support sink CHANNEL`` as a real process, as it runs in production, for tests that
stop or kill it while it delivers."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from runtime.broker import free_port
from runtime.settings import KafkaSettings
from tools.process import read_log, start_command, stop_gracefully, wait_healthy

TEST_ANSWERS_SECRET = "sink-test-answer-link-key-0123456789abcdef"


def sink_env(kafka: KafkaSettings, health_port: int, channel_env: dict[str, str]) -> dict[str, str]:
    """The broker, a health port, fast retries, and the channel's own settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSB_")}
    env.update(
        {
            "PSB_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "PSB_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "PSB_KAFKA_SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
            "PSB_ANSWERS_SECRET": TEST_ANSWERS_SECRET,
            "PSB_SINK_HEALTH_HOST": "127.0.0.1",
            "PSB_SINK_HEALTH_PORT": str(health_port),
            "PSB_SINK_RETRY_INITIAL_S": "0.05",
            "PSB_SINK_RETRY_MAX_S": "0.5",
            "PSB_SINK_RECEIPTS_TIMEOUT_S": "10",
            "PSB_LOG_LEVEL": "info",
            **channel_env,
        }
    )
    return env


class SinkProcess:
    """One ``peer-support sink CHANNEL`` process; each start gets a health port of its own
    and appends to one log file."""

    def __init__(
        self, kafka: KafkaSettings, channel: str, workdir: Path, channel_env: dict[str, str]
    ) -> None:
        self.kafka = kafka
        self.channel = channel
        self.channel_env = channel_env
        self.log_path = workdir / f"sink-{channel}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, ready_timeout: float = 60.0) -> SinkProcess:
        self.port = free_port()
        env = sink_env(self.kafka, self.port, self.channel_env)
        self.process = start_command(["sink", self.channel], env, self.log_path)
        wait_healthy(
            self.process,
            f"http://127.0.0.1:{self.port}/health/ready",
            self.log_path,
            ready_timeout,
        )
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_gracefully(self.process, timeout=30)

    def log(self) -> str:
        return read_log(self.log_path)
