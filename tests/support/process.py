"""What every process a test starts (worker, ingest, answers, slapd) needs at its end."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path


def stop_gracefully(process: subprocess.Popen[bytes] | None, timeout: float = 20) -> None:
    """SIGTERM, as Kubernetes stops a pod; SIGKILL only if it does not end in time."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
