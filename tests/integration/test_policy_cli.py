"""``peer-support policy check`` and ``policy simulate`` as a quality department runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

from schemas import Profession

SAMPLES = Path(str(resources.files("peer_support") / "samples"))
DEFAULT = Path(str(resources.files("schemas.policy") / "default-policy.yaml"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    return subprocess.run(
        [sys.executable, "-m", "peer_support", "policy", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_check_accepts_the_default_policy_with_a_summary() -> None:
    result = run("check", str(DEFAULT))
    assert result.returncode == 0, result.stderr
    assert "policy default-2026-11 is valid" in result.stdout
    assert "delay 2h; quiet hours 21:00-07:30 (Europe/Oslo); reminder after 3d" in result.stdout
    assert "scheme arbeidsgiver: everyone else" in result.stdout


def test_check_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "policy.yaml"
    broken.write_text(
        DEFAULT.read_text()
        .replace("minimum_severity: none", "minimum_severity: high")
        .replace("delay: 2h", "delay: later")
    )
    result = run("check", str(broken))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{broken}:16: triggers.minimum_severity: Input should be 'none'")
    assert lines[1] == (
        f"{broken}:49: timing.delay: use a number and a unit: s, m, h or d (for example 2h or 3d)"
    )
    assert lines[2] == "2 problem(s); the policy was not accepted"


def simulate_with(directory: Path) -> subprocess.CompletedProcess[str]:
    return run(
        "simulate",
        str(SAMPLES / "demo-policy.yaml"),
        "--reports",
        str(SAMPLES / "past-reports.ndjson"),
        "--directory",
        str(directory),
        "--json",
    )


def test_simulate_counts_what_would_have_been_sent_and_shows_no_content() -> None:
    result = simulate_with(SAMPLES / "staff.ndjson")
    assert result.returncode == 0, result.stderr
    assert_sample_figures(result.stdout)


def assert_sample_figures(stdout: str) -> None:
    figures = json.loads(stdout)
    assert figures["reports"] == 5
    assert figures["refused"] == {"invalid-json": 1}
    assert figures["offers"] == 7  # one person involved is in no directory: no offer
    assert figures["offers_by_role"] == {"reporter": 4, "involved": 3}
    assert figures["notifications_by_scheme"] == {
        "arbeidsgiver": 3,
        "legeforeningen": 2,
        "psykologforeningen": 1,
    }
    assert figures["notifications_by_channel"] == {"email": 3, "sms": 1, "slack": 1, "webhook": 1}
    assert figures["not_notified"] == {"opted-out": 1}
    assert figures["suppressed"] == {"witness:role": 2, "involved:unknown-staff": 1}
    assert figures["dropped"] == {}  # the policy declares the demo system's own categories
    sensitive = (SAMPLES / "sensitive.txt").read_text().splitlines()
    staff = [json.loads(line) for line in (SAMPLES / "staff.ndjson").read_text().splitlines()]
    personal = [p["staff_ref"] for p in staff] + [p["display_name"] for p in staff]
    for term in [*sensitive, *personal]:
        assert term not in stdout


def test_simulate_reads_the_directory_csv_that_directory_load_reads(tmp_path: Path) -> None:
    """The same people as staff.ndjson, as a CSV file, and one row with two mistakes."""
    columns = ["staff_ref", "display_name", "profession", "unit", "manager_ref", "language"]
    channels = ["email", "sms", "teams", "slack", "webhook", "outbox"]
    lines = [",".join([*columns, "opted_out", *channels, "channel_order"])]
    for text in (SAMPLES / "staff.ndjson").read_text().splitlines():
        person = json.loads(text) | {"unit": json.loads(text)["unit_code"]}
        addresses = {point["channel"]: point["address"] for point in person["channels"]}
        order = " ".join(point["channel"] for point in person["channels"])
        cells = [person.get(name, "") for name in columns]
        cells += ["yes" if person.get("opted_out") else "no"]
        lines.append(",".join([*cells, *(addresses.get(c, "") for c in channels), order]))
    lines.append("emp-7777,Ola Feil,surgeon,MED-3,,,,ola.feil(at)sykehus,,,,,,")
    directory = tmp_path / "staff.csv"
    directory.write_text("\n".join(lines) + "\n")
    result = simulate_with(directory)
    assert result.returncode == 2
    refusals = result.stderr.splitlines()
    assert refusals[0] == "line 10: profession: must be one of: " + ", ".join(
        p.value for p in Profession
    )
    assert refusals[1].startswith("line 10: email: must be an email address")
    assert refusals[2:] == [
        f"error: 1 row(s) of {directory} refused (listed above); the people on them counted "
        "as unknown staff",
    ]
    assert "Ola Feil" not in result.stdout + result.stderr
    assert_sample_figures(result.stdout)


def test_simulate_without_a_directory_and_as_a_table(tmp_path: Path) -> None:
    strict = tmp_path / "policy.yaml"
    strict.write_text(
        (SAMPLES / "demo-policy.yaml")
        .read_text()
        .replace("minimum_severity: none", "minimum_severity: severe")
    )
    result = run("simulate", str(strict), "--reports", str(SAMPLES / "past-reports.ndjson"))
    assert result.returncode == 0, result.stderr
    assert "offers that would be made       4" in result.stdout  # severe, or unknown
    assert "(no --directory: schemes and channels are not simulated)" in result.stdout
    assert "reporter:below-minimum-severity" in result.stdout


def test_simulate_names_a_reports_file_it_cannot_read_in_one_line(tmp_path: Path) -> None:
    for reports in (tmp_path / "missing.ndjson", tmp_path):  # absent, and a directory
        result = run("simulate", str(DEFAULT), "--reports", str(reports))
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines() == [
            f"error: cannot read {reports}: "
            + ("No such file or directory" if reports != tmp_path else "Is a directory")
        ]
        assert "Traceback" not in result.stdout + result.stderr


def test_simulate_counts_reports_that_name_no_one(tmp_path: Path) -> None:
    reports = tmp_path / "reports.ndjson"
    lines = (SAMPLES / "past-reports.ndjson").read_text().splitlines()
    unnamed = json.loads(lines[0])
    unnamed["staff"] = []
    reports.write_text("\n".join([*lines, json.dumps(unnamed)]) + "\n")
    result = run("simulate", str(SAMPLES / "demo-policy.yaml"), "--reports", str(reports), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reports_naming_no_one"] == 1
