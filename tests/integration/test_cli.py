"""``peer-support minimize`` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.helpers import native_report

KEY_ENV = {"PSB_PSEUDONYM_KEY": "cli-test-pseudonym-key-0123456789abcdef"}


def run(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    return subprocess.run(
        [sys.executable, "-m", "peer_support", "minimize", *args],
        input=stdin,
        capture_output=True,
        env={**base, **(env if env is not None else KEY_ENV)},
        timeout=60,
        check=False,
    )


def test_file_to_signal(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(native_report(description="Ola Testpasient")))
    result = run(str(report))
    assert result.returncode == 0, result.stderr
    signal = json.loads(result.stdout)
    assert signal["type"] == "incident-signal"
    assert signal["source_format"] == "native"
    assert b"Testpasient" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [("r4-contributors.json", "fhir-r4"), ("r5-participants.json", "fhir-r5")],
)
def test_stdin_and_auto_detection(fixture: str, expected: str) -> None:
    result = run("--format", "auto", stdin=(FIXTURES / "fhir" / fixture).read_bytes())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["source_format"] == expected


def test_refused_input_exits_2_with_one_line_and_no_values() -> None:
    bad = json.dumps(native_report(staff=[{"staff_ref": "Ola Testpasient", "role": "reporter"}]))
    result = run(stdin=bad.encode())
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "staff.0.staff_ref" in lines[0]
    assert "invalid-identifier" in lines[0]
    assert "Testpasient" not in lines[0]


def test_forced_format_mismatch_and_garbage() -> None:
    forced = run("--format", "fhir-r5", stdin=json.dumps(native_report()).encode())
    assert forced.returncode == 2 and b"resourceType" in forced.stderr
    garbage = run(stdin=b"Ola Testpasient, born 01017012345")
    assert garbage.returncode == 2
    assert b"invalid-json" in garbage.stderr
    assert b"Testpasient" not in garbage.stderr and b"01017012345" not in garbage.stderr


def test_missing_key_is_a_clear_error() -> None:
    result = run(stdin=json.dumps(native_report()).encode(), env={})
    assert result.returncode == 2
    assert "PSB_PSEUDONYM_KEY is not set" in result.stderr.decode()


def test_a_short_key_is_refused_without_echoing_it() -> None:
    result = run(stdin=b"{}", env={"PSB_PSEUDONYM_KEY": "short-secret"})
    assert result.returncode == 2
    assert b"short-secret" not in result.stderr


def test_strict_validates_the_whole_resource() -> None:
    fixture = FIXTURES / "fhir" / "r5-participants.json"
    assert run("--strict", str(fixture)).returncode == 0
    document = json.loads(fixture.read_text())
    document["subject"]["Ola Testpasient"] = "x"  # not an element of Reference
    lenient = run(stdin=json.dumps(document).encode())
    strict = run("--strict", stdin=json.dumps(document).encode())
    assert lenient.returncode == 0  # the boundary never reads subject
    assert strict.returncode == 2
    assert b"subject.<key>" in strict.stderr and b"Testpasient" not in strict.stderr


def test_a_report_that_names_no_one_is_minimized_with_a_note_saying_so() -> None:
    event = json.loads((FIXTURES / "fhir" / "r4-contributors.json").read_text())
    event["recorder"] = {"display": "Ingrid Berg"}  # a name, no reference
    event.pop("contributor", None)
    done = run(stdin=json.dumps(event).encode())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["staff"] == []
    (note,) = [line for line in done.stderr.decode().splitlines() if line.startswith("note:")]
    assert "names no staff member by a usable reference" in note
    assert "Ingrid" not in done.stderr.decode()
    named = run(stdin=json.dumps(native_report()).encode())
    assert "note:" not in named.stderr.decode()
