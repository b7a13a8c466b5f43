"""What every process a test starts (worker, ingest, answers, slapd) needs at its end."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
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


def start_command(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``python -m peer_support ARGS`` as production runs it, its output appended to the log."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "peer_support", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_healthy(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float
) -> None:
    """Until ``url`` answers 200; fails at once, with the log, when the process ends first."""
    name = f"command {process.args!r}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited early:\n{read_log(log_path)}")
        with suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.25)
    raise AssertionError(f"{name} not ready in {timeout}s:\n{read_log(log_path)}")
