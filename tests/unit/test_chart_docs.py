"""The chart documents every value it takes, and its schema covers every value."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tools import chart_params
from tools.chart_params import CHART, leaf_keys, lookup, params, undocumented

VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def schema_for(key: str) -> dict[str, Any] | None:
    """The schema of a dotted values key, or None when the schema does not describe it."""
    node = SCHEMA
    for part in key.split("."):
        node = resolve(node)
        if part in node.get("properties", {}):
            node = node["properties"][part]
        elif node.get("patternProperties"):
            node = next(iter(node["patternProperties"].values()))
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        elif node.get("type") == "object" and "properties" not in node:
            return node  # a free-form map (labels, resources, affinity...)
        else:
            return None
    return resolve(node)


def test_every_value_has_a_param_line() -> None:
    assert not undocumented(VALUES, params()), "add `## @param <key> <description>` lines"


def test_every_param_line_names_an_existing_value() -> None:
    assert not [p.key for p in params() if lookup(VALUES, p.key) is chart_params.MISSING]


def test_chart_readme_table_matches_values() -> None:
    text = chart_params.README.read_text()
    assert text == chart_params.with_table(text), "chart README is stale: run `make chart-docs`"


def test_schema_describes_every_value() -> None:
    assert not [key for key in leaf_keys(VALUES) if schema_for(key) is None]


def test_schema_describes_nothing_values_yaml_lacks() -> None:
    """No dead schema branches: every named property is a key of values.yaml."""

    def named(node: dict[str, Any], prefix: str) -> list[str]:
        node = resolve(node)
        found = []
        for name, child in node.get("properties", {}).items():
            key = f"{prefix}.{name}" if prefix else name
            found.append(key)
            found += named(child, key)
        return found

    optional = {"global"}  # accepted for umbrella charts, never set here
    optional_leaves = {"claims", "localhostProfile", "add"}  # Kubernetes fields left unset
    absent = [
        key
        for key in named(SCHEMA, "")
        if lookup(VALUES, key) is chart_params.MISSING
        and key not in optional
        and key.rsplit(".", 1)[-1] not in optional_leaves
    ]
    assert not absent, absent


def test_every_object_in_the_schema_refuses_unknown_keys() -> None:
    """A misspelt key fails the install instead of being ignored."""

    def loose(node: dict[str, Any], path: str) -> list[str]:
        node = resolve(node)
        found = []
        if "properties" in node and node.get("additionalProperties") is not False:
            found.append(path or "(root)")
        for name, child in node.get("properties", {}).items():
            found += loose(child, f"{path}.{name}")
        return found

    assert not loose(SCHEMA, "")


def test_chart_readme_names_every_setting_the_chart_sets_itself() -> None:
    """The README's "Settings the chart sets itself" table lists each of managedSettings in
    templates/_settings.tpl, by its full name."""
    settings_tpl = (CHART / "templates" / "_settings.tpl").read_text()
    block = re.search(
        r'define "peer-support-bridge\.managedSettings" -}}\n(.*?)\n{{- end -}}',
        settings_tpl,
        re.DOTALL,
    )
    assert block, "managedSettings not found in _settings.tpl"
    managed = [line.split(":", 1)[0] for line in block[1].splitlines() if line.strip()]
    assert len(managed) > 20
    readme = chart_params.README.read_text()
    table = {
        name
        for row in readme.splitlines()
        if row.startswith("   | `PSB_")
        for name in re.findall(r"`(PSB_[A-Z0-9_]+)`", row.split("|")[1])
    }
    assert not [name for name in managed if name not in table]
