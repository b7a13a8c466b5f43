"""The image definition, checked statically (no Docker engine here): stages, user, entry point,
read-only-root readiness and what reaches the final stage."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
BUILD_TOOLS = re.compile(
    r"\b(gcc|g\+\+|cc|clang|make|build-essential|cmake|cargo|rustc|go|python3?-dev|libc6?-dev)\b"
)


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages of a Dockerfile (continuations joined)."""
    joined = re.sub(r"\\\n", " ", text)
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            image, _, name = rest.partition(" AS ")
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), image.strip())
            stages.append(Stage(image, name.strip()))
        elif keyword == "ARG" and not stages:
            key, _, default = rest.partition("=")
            args[key] = default
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


ARGS, STAGES = parse(DOCKERFILE.read_text())
FINAL = STAGES[-1]


def test_multi_stage_on_a_slim_python_311_base() -> None:
    assert len(STAGES) >= 2
    for stage in STAGES:
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", stage.base), stage.base
    assert FINAL.all("COPY") and all("--from=build" in copy for copy in FINAL.all("COPY")), (
        "the final stage takes only the built environment"
    )


def test_no_build_tools_or_installs_in_the_final_stage() -> None:
    for command in FINAL.all("RUN"):
        assert "pip install" not in command and "apt-get install" not in command, command
        assert not BUILD_TOOLS.search(command.replace("--", " ")), command
    build = STAGES[0].all("RUN")
    assert any("--only-binary=:all:" in run for run in build), "dependencies compiled in build"
    assert any("--constraint constraints.txt" in run for run in build), "pins not used"


def test_runs_as_a_non_root_user_that_the_chart_expects() -> None:
    (user,) = FINAL.all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    values = yaml.safe_load((ROOT / "deploy/helm/peer-support-bridge/values.yaml").read_text())
    security = values["podSecurityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (int(uid), int(gid))
    assert any(f"--uid {uid}" in run for run in FINAL.all("RUN"))


def test_entry_point_is_the_peer_support_command() -> None:
    (entrypoint,) = FINAL.all("ENTRYPOINT")
    assert json.loads(entrypoint) == ["peer-support"], "exec form, so signals reach the process"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "peer-support" in scripts


def test_ready_for_a_read_only_root_filesystem() -> None:
    env = " ".join(FINAL.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env, "libraries that write to ~ write to the /tmp volume"
    assert any("compileall" in run for run in STAGES[0].all("RUN")), "bytecode built ahead"


def test_exposes_the_ports_the_chart_uses() -> None:
    exposed = {int(p) for args in FINAL.all("EXPOSE") for p in args.split()}
    values = yaml.safe_load((ROOT / "deploy/helm/peer-support-bridge/values.yaml").read_text())
    chart_ports = {
        values[c]["containerPorts"]["http"] for c in ["worker", "ingest", "sinks", "answers"]
    }
    assert chart_ports <= exposed


def test_build_context_holds_only_what_the_image_needs() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "*", "the build context is an allow-list"
    for copied in (c.split()[0] for c in STAGES[0].all("COPY")):
        assert f"!{copied.rstrip('/')}" in ignore or f"!{copied.rstrip('/')}/" in ignore, copied


def test_the_parser_sees_a_bad_dockerfile() -> None:
    _, stages = parse(
        "FROM python:3.11 AS build\nRUN make\nFROM python:3.11-slim\nRUN apt-get install -y gcc\n"
    )
    assert not re.fullmatch(r"python:3\.11-slim(-\w+)?", stages[0].base)
    assert BUILD_TOOLS.search(stages[-1].all("RUN")[0])
    assert stages[-1].all("USER") == []
