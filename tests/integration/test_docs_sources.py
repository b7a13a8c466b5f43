"""docs/sources.md's ingest examples work as written: each shell example, run by bash against
a real ingest server with the page's variables set, is accepted with 202."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.ingest import TOKEN, WEBHOOK_SECRET, IngestProcess

ROOT = Path(__file__).resolve().parents[2]
SECTION = (ROOT / "docs" / "sources.md").read_text()
(BLOCK,) = re.findall(r"```sh\n(INGEST=.*?)```", SECTION, re.DOTALL)
PREAMBLE, *EXAMPLES = re.split(r"\n\n(?=# )", BLOCK.strip())
# curl as the page calls it, printing the status after the body
STATUS = 'curl() { command curl -w "\\nstatus=%{http_code}\\n" "$@"; }\n'


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.splitlines()[0][2:40] for e in EXAMPLES])
def test_the_example_is_accepted(example: str, ingest: IngestProcess) -> None:
    for tool in re.findall(r"^\s*\|?\s*(jq|openssl|curl)\b", example, re.MULTILINE):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed here; the example needs it")
    script = STATUS + PREAMBLE.replace("http://localhost:8080", ingest.base_url) + "\n" + example
    env = {
        **os.environ,
        "PSB_INGEST_TOKEN": TOKEN,
        "PSB_INGEST_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert re.findall(r"status=(\d+)", done.stdout) == ["202"], done.stdout
