"""The ingest server as a real process on a loopback port, and a small HTTP client."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from runtime.broker import free_port
from runtime.settings import KafkaSettings
from tools.process import read_log, start_command, stop_gracefully, wait_healthy
from tools.worker import TEST_PSEUDONYM_KEY

TOKEN = "test-ingest-token-0123456789-abcdefghij"
HMAC_SECRET = "test-ingest-hmac-secret-0123456789-abcdefghij"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"test-ingest-webhook-key-0123456789").decode()


class IngestProcess:
    def __init__(
        self, kafka: KafkaSettings, workdir: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.log_path = workdir / f"ingest-{self.port}.log"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("PSB_")}
        self.env.update(
            {
                "PSB_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                "PSB_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
                "PSB_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
                "PSB_INGEST_HOST": "127.0.0.1",
                "PSB_INGEST_PORT": str(self.port),
                "PSB_INGEST_TOKEN": TOKEN,
                "PSB_INGEST_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "PSB_INGEST_MAX_BODY_BYTES": "65536",
                "PSB_INGEST_RATE_PER_SECOND": "1000",
                "PSB_INGEST_RATE_BURST": "1000",
                # tests that are not about limits send many refused requests from one address
                "PSB_INGEST_UNAUTHENTICATED_RATE_PER_SECOND": "1000",
                "PSB_INGEST_UNAUTHENTICATED_BURST": "1000",
                "PSB_LOG_LEVEL": "info",
            }
        )
        self.env.update(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> IngestProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self, timeout: float = 30.0) -> IngestProcess:
        self.process = start_command(["ingest"], self.env, self.log_path)
        wait_healthy(self.process, f"{self.base_url}/health/live", self.log_path, timeout)
        return self

    def post(
        self,
        path: str,
        body: bytes | dict[str, Any],
        content_type: str = "application/json",
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        sent = {"Content-Type": content_type, **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return httpx.post(
            f"{self.base_url}{path}", content=raw, headers=sent, params=params, timeout=30
        )

    def stop(self) -> None:
        stop_gracefully(self.process, timeout=20)

    def log(self) -> str:
        return read_log(self.log_path)

    def rss_mb(self) -> float:
        """Resident memory of the server process (VmRSS), in MiB."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        (line,) = [line for line in status.splitlines() if line.startswith("VmRSS:")]
        return int(line.split()[1]) / 1024


def webhook_headers(
    body: bytes, msg_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """Standard Webhooks headers signed by the reference implementation (``standardwebhooks``),
    so the tests prove the server takes what a standard sender sends."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    sent = int(time.time()) if timestamp is None else timestamp
    signature = Webhook(WEBHOOK_SECRET).sign(
        msg_id, datetime.fromtimestamp(sent, UTC), body.decode()
    )
    return {"webhook-id": msg_id, "webhook-timestamp": str(sent), "webhook-signature": signature}


def fhir_env(base_url: str, token_url: str, client_id: str, client_secret: str) -> dict[str, str]:
    """Settings pointing the ingest server's read-back at a (stand-in) FHIR server."""
    return {
        "PSB_INGEST_FHIR_BASE_URL": base_url,
        "PSB_INGEST_FHIR_TOKEN_URL": token_url,
        "PSB_INGEST_FHIR_CLIENT_ID": client_id,
        "PSB_INGEST_FHIR_CLIENT_SECRET": client_secret,
    }
