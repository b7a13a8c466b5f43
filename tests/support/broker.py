"""Which Kafka-protocol broker the tests talk to.

In order: ``KAFKA_BOOTSTRAP_SERVERS`` when set; testcontainers' Kafka module when a Docker
engine answers; else the embedded Tansu broker (what CI and these machines use).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.broker import EmbeddedBroker


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@contextmanager
def running_broker(log_dir: Path) -> Iterator[tuple[str, str]]:
    """Yields ``(bootstrap servers, kind)``."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured, "external"
        return
    if docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as container:
            yield container.get_bootstrap_server(), "testcontainers"
        return
    with EmbeddedBroker(log_file=log_dir / "tansu.log") as broker:
        yield broker.bootstrap, "embedded-tansu"
