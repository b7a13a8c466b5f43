"""Every command against a broker that is not there (a loopback port nothing listens on):
each gives up in time with one line naming the address and the setting, the exit code of
the table in peer_support/exits.py and the README, and never a traceback. Commands run six
at a time, so all of them take about 15 s. Then the long-running ones, and `broker`, which
must leave no Tansu behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pytest

from peer_support import exits
from peer_support.exits import EXIT_BUG, EXIT_INPUT, EXIT_OK, EXIT_UNAVAILABLE
from runtime.broker import EmbeddedBroker, free_port
from runtime.settings import KafkaSettings
from tools.worker import TEST_PSEUDONYM_KEY

SAMPLES = Path(str(resources.files("peer_support") / "samples"))
DEFAULT_POLICY = Path(str(resources.files("schemas.policy") / "default-policy.yaml"))
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"

TIMEOUT_S = 4.0
"""PSB_KAFKA_CONNECT_TIMEOUT_S of these runs (one runs with the default)."""
MARGIN_S = 6.0
"""Starting Python and importing what a command needs, with others starting beside it."""
PARALLEL = 6


@dataclass
class Case:
    args: list[str]
    code: int
    env: dict[str, str] = field(default_factory=dict)
    json_log: bool = False
    limit_s: float = TIMEOUT_S


@dataclass
class Outcome:
    case: Case
    code: int | None
    seconds: float
    stdout: str
    stderr: str


def environment(nowhere: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    env.update(
        {
            "PSB_KAFKA_BOOTSTRAP_SERVERS": nowhere,
            "PSB_KAFKA_CONNECT_TIMEOUT_S": str(TIMEOUT_S),
            "PSB_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
            "PSB_ANSWERS_SECRET": "test-only-answer-link-key-0123456789abcdef",
            "PSB_WORKER_DATA_DIR": str(workdir / "worker"),
            "PSB_WORKER_WEB_HOST": "127.0.0.1",
            "PSB_SINK_HEALTH_HOST": "127.0.0.1",
            "PSB_INGEST_HOST": "127.0.0.1",
            "PSB_INGEST_TOKEN": "test-ingest-token-0123456789-abcdefghij",
            "PSB_LDAP_URL": f"ldap://127.0.0.1:{free_port()}",  # the broker is asked first
            "PSB_LDAP_BASE_DN": "ou=people,dc=example,dc=org",
            "PSB_LOG_LEVEL": "info",
        }
    )
    return env


def one_shot_cases(workdir: Path) -> list[Case]:
    staff = workdir / "staff.csv"
    staff.write_text("staff_ref,profession,unit\nkari,nurse,MED-3\n")
    reports = str(SAMPLES / "past-reports.ndjson")
    report = str(SAMPLES / "reports" / sorted(os.listdir(SAMPLES / "reports"))[0])
    default_wait = {"PSB_KAFKA_CONNECT_TIMEOUT_S": ""}  # unset below: the default
    return [
        Case(  # the chart's hook, with the default wait; the longest, so it starts first
            ["topics", "create"],
            EXIT_UNAVAILABLE,
            env=default_wait,
            limit_s=KafkaSettings().connect_timeout_s,
        ),
        Case(["topics", "create"], EXIT_UNAVAILABLE),
        Case(["report", "--month", "2026-11"], EXIT_UNAVAILABLE),
        Case(["replay", reports], EXIT_UNAVAILABLE),
        Case(["directory", "load", str(staff)], EXIT_UNAVAILABLE),
        Case(["directory", "load", str(staff), "--supporters"], EXIT_INPUT),  # wrong columns
        Case(["directory", "sync-ldap", "--once"], EXIT_UNAVAILABLE, json_log=True),
        Case(["directory", "sync-ldap"], EXIT_UNAVAILABLE, json_log=True),
        Case(["answers", "--host", "127.0.0.1"], EXIT_UNAVAILABLE, json_log=True),
        Case(["sink", "outbox"], EXIT_UNAVAILABLE, json_log=True),
        Case(["sink", "email"], EXIT_UNAVAILABLE, json_log=True),
        # what needs no broker works without one
        Case(["replay", reports, "--dry-run"], EXIT_OK),
        Case(["directory", "load", str(staff), "--dry-run"], EXIT_OK),
        Case(["minimize", report], EXIT_OK),
        Case(["pseudonym", "kari"], EXIT_OK),
        Case(["settings"], EXIT_OK),
        Case(["policy", "check", str(DEFAULT_POLICY)], EXIT_OK),
        Case(["policy", "simulate", str(DEFAULT_POLICY), "--reports", reports], EXIT_OK),
        Case(
            ["policy", "simulate", str(DEFAULT_POLICY), "--reports", str(workdir / "no.ndjson")],
            EXIT_INPUT,
        ),
    ]


def run(case: Case, env: dict[str, str], workdir: Path) -> Outcome:
    merged = {**env, **case.env, "PSB_ANSWERS_PORT": str(free_port())}
    merged["PSB_SINK_HEALTH_PORT"] = str(free_port())
    merged = {k: v for k, v in merged.items() if v != ""}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "peer_support", *case.args],
            capture_output=True,
            text=True,
            env=merged,
            cwd=workdir,
            timeout=case.limit_s + MARGIN_S + 20,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        return Outcome(case, None, time.monotonic() - started, str(expired.stdout), "")
    return Outcome(case, done.returncode, time.monotonic() - started, done.stdout, done.stderr)


def problems_of(outcome: Outcome, nowhere: str) -> list[str]:
    case, found = outcome.case, []
    output = outcome.stdout + outcome.stderr
    if outcome.code != case.code:
        found.append(f"exit {outcome.code}, documented {case.code}")
    if "Traceback" in output:
        found.append("a traceback")
    if outcome.seconds > case.limit_s + MARGIN_S:
        found.append(f"took {outcome.seconds:.1f} s")
    if case.code == EXIT_OK:
        return found
    lines = outcome.stderr.splitlines()
    if len(lines) != 1 or outcome.stdout:
        found.append(f"{len(lines)} lines on stderr, {len(outcome.stdout)} chars on stdout")
    if case.json_log and lines:
        try:
            json.loads(lines[0])
        except ValueError:
            found.append("not a JSON log line")
    if case.code == EXIT_UNAVAILABLE and not (
        nowhere in output and "PSB_KAFKA_BOOTSTRAP_SERVERS" in output
    ):
        found.append("the address or the setting is not named")
    return found


def test_every_command_fails_well_without_a_broker(tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    env = environment(nowhere, tmp_path)
    cases = one_shot_cases(tmp_path)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        outcomes = list(pool.map(lambda case: run(case, env, tmp_path), cases))
    report = {
        " ".join(o.case.args[:3]): problems
        for o in outcomes
        if (problems := problems_of(o, nowhere))
    }
    assert report == {}, "\n".join(
        f"{o.case.args}: {o.seconds:.1f} s, exit {o.code}\n{o.stderr[-800:]}" for o in outcomes
    )
    assert KafkaSettings().connect_timeout_s <= 15


def test_servers_wait_or_give_up_and_log_json_only(tmp_path: Path) -> None:
    """The worker waits for the broker, by design, and the ingest server answers 503 until
    it is there; both log JSON only. (answers and the sinks give up: see above.)"""
    nowhere = f"127.0.0.1:{free_port()}"
    env = environment(nowhere, tmp_path)
    env["PSB_WORKER_WEB_PORT"] = str(free_port())
    env["PSB_INGEST_PORT"] = str(free_port())
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "ingest")}
    processes = {}
    for name, log in logs.items():
        with open(log, "wb") as out:
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", "peer_support", name],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
    try:
        deadline = time.monotonic() + TIMEOUT_S + MARGIN_S + 10
        while "broker not reachable, retrying" not in logs["worker"].read_text():
            assert time.monotonic() < deadline, logs["worker"].read_text()
            assert all(p.poll() is None for p in processes.values())
            time.sleep(0.2)
        assert all(p.poll() is None for p in processes.values())  # both still waiting
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=20)
    for name, log in logs.items():
        text = log.read_text()
        assert "Traceback" not in text, name
        for line in text.splitlines():
            assert isinstance(json.loads(line), dict), (name, line)
    worker_log = logs["worker"].read_text()
    assert f'"bootstrap_servers": "{nowhere}"' in worker_log


def test_the_readme_and_exits_py_document_every_exit_code() -> None:
    codes = {value for name, value in vars(exits).items() if name.startswith("EXIT_")}
    section = OPERATIONS.read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n## ")[0]
    documented = re.findall(r"^\| `(\d+)` \| .+ \|$", section, flags=re.MULTILINE)
    assert sorted(int(code) for code in documented) == sorted(codes) == list(range(5))
    table = re.findall(r"^(\d+) {4,}\S", exits.__doc__ or "", flags=re.MULTILINE)
    assert sorted(int(code) for code in table) == sorted(codes)


def test_an_unexpected_error_is_one_line_with_exit_4() -> None:
    """A bug's exception may carry input in its message: main() shows its type and our
    line nearest to it, nothing else (a command is added here only to have a real one)."""
    program = (
        "import sys, peer_support.cli as cli\n"
        "def boom() -> None:\n"
        "    raise ValueError('patient Kari Nordmann, 01017012345')\n"
        "cli.app.command('boom')(boom)\n"
        "sys.argv = ['peer-support', 'boom']\n"
        "cli.main()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == EXIT_BUG
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert re.fullmatch(
        r"error: unexpected ValueError at peer_support/cli\.py:\d+; a bug, please report it",
        lines[0],
    ), lines
    assert "Kari" not in done.stdout + done.stderr


class BrokerCommand:
    """``peer-support broker`` as a real process, and the Tansu it started."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.stderr_path = workdir / f"broker-{self.port}.err"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "peer_support", "broker", "--port", str(self.port)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()  # click flushes each line
        found = re.search(r"broker ready at 127\.0\.0\.1:(\d+) \(pid (\d+)\)", ready)
        assert found is not None, ready + self.stderr_path.read_text()
        self.tansu = int(found.group(2))

    def tansu_alive(self) -> bool:
        """Running, and not a zombie nobody reaped."""
        try:
            state = Path(f"/proc/{self.tansu}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        return state != "Z"

    def port_free(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) != 0

    def finish(self, timeout: float = 15) -> tuple[int, str, str]:
        stdout, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, stdout, self.stderr_path.read_text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_broker_command_stops_tansu_when_it_is_stopped(
    tmp_path: Path, signum: signal.Signals
) -> None:
    broker = BrokerCommand(tmp_path)
    try:
        assert broker.tansu_alive() and not broker.port_free()
        broker.process.send_signal(signum)
        code, stdout, stderr = broker.finish()
    finally:
        broker.process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(broker.tansu, signal.SIGKILL)
    assert (code, stdout.strip(), stderr) == (EXIT_OK, "broker stopped", "")
    assert not broker.tansu_alive()
    assert broker.port_free()


def test_the_broker_command_ends_when_tansu_dies(tmp_path: Path) -> None:
    broker = BrokerCommand(tmp_path)
    try:
        os.kill(broker.tansu, signal.SIGKILL)
        code, stdout, stderr = broker.finish()
    finally:
        broker.process.kill()
    assert code == EXIT_UNAVAILABLE
    assert stderr.splitlines() == [
        f"error: the embedded broker (tansu, pid {broker.tansu}) was killed by signal 9"
    ]
    assert not broker.tansu_alive()  # reaped, not left defunct
    assert "Traceback" not in stdout + stderr


def test_the_broker_command_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
        done = subprocess.run(
            [sys.executable, "-m", "peer_support", "broker", "--port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert done.returncode == EXIT_INPUT
    assert done.stderr.splitlines() == [
        f"error: port {port} of 127.0.0.1 is in use (Address already in use)"
    ]


def test_answers_ends_when_its_broker_goes_away(tmp_path: Path) -> None:
    """Rather than stay up, never ready, without the topics it judges clicks by."""
    broker = EmbeddedBroker(log_file=tmp_path / "tansu.log")
    broker.start()
    try:
        env = environment(broker.bootstrap, tmp_path)
        env.update({"PSB_KAFKA_TOPIC_PREFIX": "absent.", "PSB_ANSWERS_PORT": str(free_port())})
        log = tmp_path / "answers.log"
        with open(log, "wb") as out:
            answers = subprocess.Popen(
                [sys.executable, "-m", "peer_support", "answers", "--host", "127.0.0.1"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 30
        while "answers endpoint starting" not in log.read_text():
            assert answers.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        broker.stop()
    try:
        code = answers.wait(timeout=60)
    finally:
        answers.kill()
    text = log.read_text()
    assert code == EXIT_UNAVAILABLE, text
    assert "answers cannot follow their topics, stopping" in text
    assert "Traceback" not in text
    assert all(isinstance(json.loads(line), dict) for line in text.splitlines())
