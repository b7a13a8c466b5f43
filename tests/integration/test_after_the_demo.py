"""The README's "After the demo: run it yourself" works as written: its shell blocks, pasted
into bash in the repository's folder, start the broker, worker, ingest server and outbox sink
on their default ports, and the report they send reaches each person named in it as an offer.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## After the demo: run it yourself"
DEFAULT_PORTS = (9092, 8080, 8081, 6066)  # broker, ingest, sink health, worker health


def the_block() -> str:
    section = (ROOT / "README.md").read_text().split(HEADING, 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, re.DOTALL))


def in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def pasted(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """The block run by bash in a session of its own, so every process it leaves in the
    background can be stopped at the end, as `kill $(jobs -p)` would."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed here; the README block needs it")
    if not (ROOT / ".venv/bin/activate").is_file():
        pytest.skip("no .venv in the repository; the block activates what `make demo` made")
    if taken := [port for port in DEFAULT_PORTS if in_use(port)]:
        pytest.skip(f"port(s) {taken} already in use here; the block uses the default ports")
    output = tmp_path / "terminal.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    with open(output, "wb") as terminal:
        shell = subprocess.Popen(
            ["bash", "-e", "-c", the_block()],
            cwd=ROOT,
            env=env,
            stdout=terminal,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield shell, output
    finally:
        with suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(in_use(port) for port in DEFAULT_PORTS):
            time.sleep(0.5)
        with suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)


def test_the_block_as_written_delivers_an_offer_to_each_person_reported(
    pasted: tuple[subprocess.Popen[bytes], Path],
) -> None:
    shell, output = pasted
    assert shell.wait(timeout=120) == 0, output.read_text()
    deadline = time.monotonic() + 60
    expected = ("offer    → Kari Nordmann (nurse) by email", "offer    → Per Hansen (physician)")
    while not all(line in output.read_text() for line in expected):
        assert time.monotonic() < deadline, f"no offers printed:\n{output.read_text()}"
        time.sleep(0.5)
    printed = output.read_text()
    assert '"accepted": 1' in printed, printed
    assert "8 rows read: 8 valid, 0 refused" in printed, printed
