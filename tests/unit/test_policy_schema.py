"""The policy JSON Schema as an editor uses it, asserting formats: every policy we ship passes,
its defaults are in the file's own syntax, and it refuses what the policy loader refuses."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from schemas.export import path_for
from schemas.policy import PolicyError, parse_policy

ROOT = Path(__file__).resolve().parents[2]
SCHEMA: dict[str, Any] = json.loads(path_for("policy").read_text(encoding="utf-8"))
CHECKER = Draft202012Validator.FORMAT_CHECKER
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=CHECKER)
CHART_VALUES = ROOT / "deploy" / "helm" / "peer-support-bridge" / "values.yaml"


def shipped_policies() -> Iterator[tuple[str, str]]:
    """(name, YAML text) of every policy in the repository a user may copy."""
    files = [
        ROOT / "schemas" / "policy" / "default-policy.yaml",
        ROOT / "peer_support" / "samples" / "demo-policy.yaml",
        *sorted((ROOT / "tests" / "fixtures" / "policies").glob("*.yaml")),
    ]
    for path in files:
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    content = yaml.safe_load(CHART_VALUES.read_text(encoding="utf-8"))["policy"]["content"]
    if content:  # the chart ships the built-in default unless its values hold a policy
        yield "values.yaml policy.content", content


def errors(instance: Any) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in VALIDATOR.iter_errors(instance)
    ]


def test_the_checker_asserts_the_formats_json_schema_would_have_used() -> None:
    """Else a ``format: time`` coming back would pass unnoticed: rfc3339-validator checks it."""
    assert "time" in CHECKER.checkers


def formats(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            yield node["format"]
        for value in node.values():
            yield from formats(value)
    elif isinstance(node, list):
        for item in node:
            yield from formats(item)


def test_every_format_in_the_schema_is_asserted_by_the_test() -> None:
    unchecked = sorted(set(formats(SCHEMA)) - set(CHECKER.checkers))
    assert not unchecked, f"formats this test cannot assert: {unchecked}"


@pytest.mark.parametrize(
    ("name", "text"), [pytest.param(name, text, id=name) for name, text in shipped_policies()]
)
def test_every_shipped_policy_passes_the_schema_with_formats_asserted(name: str, text: str) -> None:
    parse_policy(text, name)  # the loader accepts it
    assert errors(yaml.safe_load(text)) == []


def defaults(node: Any) -> Iterator[tuple[dict[str, Any], Any]]:
    """(property schema without its default, the default) everywhere in the schema."""
    if isinstance(node, dict):
        if "default" in node:
            yield {k: v for k, v in node.items() if k != "default"}, node["default"]
        for value in node.values():
            yield from defaults(value)
    elif isinstance(node, list):
        for item in node:
            yield from defaults(item)


def test_every_default_passes_its_own_schema() -> None:
    found = list(defaults(SCHEMA))
    assert len(found) > 20
    for schema, default in found:
        checker = Draft202012Validator({**schema, "$defs": SCHEMA["$defs"]}, format_checker=CHECKER)
        assert list(checker.iter_errors(default)) == [], (schema, default)


def test_defaults_are_written_as_the_policy_file_writes_them() -> None:
    timing = SCHEMA["properties"]["timing"]["default"]
    assert timing["delay"] == "1h"
    assert timing["quiet_hours"] == {"start": "21:00", "end": "07:30"}
    assert timing["working_hours"]["start"] == "08:00"
    assert SCHEMA["properties"]["retention"]["default"]["offers"] == "45d"


BASE: dict[str, Any] = yaml.safe_load(
    (ROOT / "schemas" / "policy" / "default-policy.yaml").read_text(encoding="utf-8")
)


def with_value(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    policy = copy.deepcopy(BASE)
    node = policy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return policy


def loader_accepts(policy: dict[str, Any]) -> bool:
    try:
        parse_policy(yaml.safe_dump(policy, allow_unicode=True))
    except PolicyError:
        return False
    return True


DELAY = ("timing", "delay")
QUIET_START = ("timing", "quiet_hours", "start")


@pytest.mark.parametrize(
    ("path", "value", "valid"),
    [
        (DELAY, "2h", True),
        (DELAY, "90m", True),
        (DELAY, "0s", True),
        (DELAY, "1.5h", True),
        (DELAY, "2 hours", False),
        (DELAY, "PT1H", False),
        (DELAY, "2", False),
        (DELAY, "-1h", False),
        (QUIET_START, "21:00", True),
        (QUIET_START, "06:45:30", True),
        (QUIET_START, "25:00", False),
        (QUIET_START, "7:30", False),
        (QUIET_START, "21:00Z", False),
        (QUIET_START, "21:00:00.5", False),
        (QUIET_START, 1260, False),  # what YAML makes of an unquoted 21:00
    ],
)
def test_the_schema_and_the_loader_agree_on_a_value(
    path: tuple[str, ...], value: Any, valid: bool
) -> None:
    policy = with_value(path, value)
    assert (errors(policy) == []) is valid
    assert loader_accepts(policy) is valid
