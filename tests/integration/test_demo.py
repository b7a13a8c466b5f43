"""``peer-support demo`` runs the whole pipeline by itself and shows nothing of the patients."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources


def test_demo_shows_offers_arriving_and_leaks_nothing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    result = subprocess.run(
        [sys.executable, "-m", "peer_support", "demo"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, output
    assert output.count("offer    → ") == 6
    assert output.count("reminder → ") == 6
    assert "dead-lettered        1" in output
    assert "support offers       7" in output  # the person in no directory gets none
    # the email and webhook sinks delivered to real local servers, each notification once
    assert output.count("  mail to ") == 6
    assert output.count("signature verified") == 2
    assert "Tilbudet er frivillig. Samtalen er fortrolig" in output
    assert output.count("HTTP [200, 200, 200]") == 4  # open, confirm, confirm again
    assert "hand-offs made     1" in output
    assert "Evaluation 20" in output and "suppressed" in output
    sensitive = (resources.files("peer_support") / "samples" / "sensitive.txt").read_text()
    leaked = [term for term in sensitive.split("\n") if term and term in output]
    assert not leaked, leaked
