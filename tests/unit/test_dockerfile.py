"""The image definition, checked statically (no Docker engine here): stages, user, entry point,
read-only-root readiness and what reaches the final stage."""

from __future__ import annotations

import json
import re
import shlex
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
PINNED_BASE = re.compile(r"python:3\.11-slim(-\w+)?@sha256:[0-9a-f]{64}")
CHART_YAML = ROOT / "deploy/helm/peer-support-bridge/Chart.yaml"


def labels(stage: Stage) -> dict[str, str]:
    """The stage's LABELs, with ``${ARG}`` left as written."""
    return dict(
        pair.split("=", 1) for args in stage.all("LABEL") for pair in shlex.split(args) if pair
    )


def test_multi_stage_on_a_slim_python_311_base_pinned_by_digest() -> None:
    assert len(STAGES) >= 2
    for stage in STAGES:
        assert PINNED_BASE.fullmatch(stage.base), f"{stage.base}: pin the base by digest"
    assert "docker buildx imagetools inspect" in DOCKERFILE.read_text(), "how to move the pin"
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


def test_installs_no_extra_of_the_project() -> None:
    """The demo's broker and mail server and the strict check's FHIR models stay out."""
    (install,) = [run for run in STAGES[0].all("RUN") if "pip install" in run]
    wheels = install.split("pip install", 1)[1]
    assert "/wheels/*.whl" in wheels and "[" not in wheels, install


def test_labels_name_the_source_version_and_revision_it_was_built_from() -> None:
    found = labels(FINAL)
    assert found["org.opencontainers.image.version"] == "${VERSION}"
    assert found["org.opencontainers.image.revision"] == "${REVISION}"
    assert found["org.opencontainers.image.source"] == "${SOURCE}"
    assert {"VERSION", "REVISION", "SOURCE"} <= {a.split("=")[0] for a in FINAL.all("ARG")}, (
        "a global ARG reaches a stage only when the stage declares it again"
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert ARGS["VERSION"] == project["version"], "the default version is the package's"
    assert ARGS["REVISION"], "a build without --build-arg REVISION still says it is unknown"
    chart = yaml.safe_load(CHART_YAML.read_text())
    assert ARGS["SOURCE"] in chart["sources"], "the image and the chart name one repository"


def test_the_parser_sees_a_bad_dockerfile() -> None:
    _, stages = parse(
        "FROM python:3.11 AS build\nRUN make\nFROM python:3.11-slim\nRUN apt-get install -y gcc\n"
    )
    assert not PINNED_BASE.fullmatch(stages[0].base)
    assert not PINNED_BASE.fullmatch("python:3.11-slim-bookworm")
    assert BUILD_TOOLS.search(stages[-1].all("RUN")[0])
    assert stages[-1].all("USER") == []
