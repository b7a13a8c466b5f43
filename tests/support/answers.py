"""The answers endpoint as a real process, and a browser-like client for it."""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from runtime.broker import free_port
from runtime.settings import KafkaSettings
from tools.process import read_log, start_command, stop_gracefully, wait_healthy

TEST_LINK_SECRET = "test-only-answer-link-key-0123456789abcdef"


class AnswersProcess:
    def __init__(self, kafka: KafkaSettings, workdir: Path, max_age_days: int = 30) -> None:
        self.port = free_port()
        self.log_path = workdir / f"answers-{self.port}.log"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("PSB_")}
        self.env.update(
            {
                "PSB_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                "PSB_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
                "PSB_ANSWERS_SECRET": TEST_LINK_SECRET,
                "PSB_ANSWERS_PORT": str(self.port),
                "PSB_ANSWERS_BASE_URL": f"http://127.0.0.1:{self.port}",
                "PSB_ANSWERS_LINK_MAX_AGE_DAYS": str(max_age_days),
                "PSB_LOG_LEVEL": "info",
            }
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> AnswersProcess:
        self.process = start_command(["answers", "--host", "127.0.0.1"], self.env, self.log_path)
        wait_healthy(self.process, self.url("/health/ready"), self.log_path, timeout)
        return self

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """Without ``headers``, a POST carries what a browser sends with the page's own
        button (a same-origin ``Origin``); with them, exactly those."""
        if headers is None:
            headers = {"Origin": self.origin} if method == "POST" else {}
        request = urllib.request.Request(
            self.url(path),
            method=method,
            headers=headers,
            data=b"" if method == "POST" else None,
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stop(self) -> None:
        stop_gracefully(self.process, timeout=20)

    def log(self) -> str:
        return read_log(self.log_path)
