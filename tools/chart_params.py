"""The chart's values documentation, from the `## @param` and `## @section` lines of
values.yaml (Bitnami's convention), as the chart README's table of values.

    python -m tools.chart_params      # rewrite the table in the chart README (make chart-docs)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "peer-support-bridge"
VALUES = CHART / "values.yaml"
README = CHART / "README.md"
START, END = "<!-- values-table:start -->\n", "<!-- values-table:end -->"

_PARAM = re.compile(r"^\s*## @param (?P<key>\S+) (?P<description>.+)$")
_SECTION = re.compile(r"^\s*## @section (?P<title>.+)$")
MISSING = object()
"""What :func:`lookup` returns for a key values.yaml lacks."""


@dataclass(frozen=True)
class Param:
    key: str
    description: str
    section: str


def params(text: str | None = None) -> list[Param]:
    found, section = [], ""
    for line in (text if text is not None else VALUES.read_text()).splitlines():
        if match := _SECTION.match(line):
            section = match["title"].strip()
        elif match := _PARAM.match(line):
            found.append(Param(match["key"], match["description"].strip(), section))
    return found


def lookup(values: dict[str, Any], key: str) -> Any:
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def leaf_keys(node: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every leaf (scalars, lists and empty maps) of a values tree."""
    if isinstance(node, dict) and node:
        keys = []
        for name, child in node.items():
            keys.extend(leaf_keys(child, f"{prefix}.{name}" if prefix else name))
        return keys
    return [prefix]


def undocumented(values: dict[str, Any], documented: list[Param]) -> list[str]:
    """Leaves with no `## @param` for themselves or an enclosing key."""
    keys = {p.key for p in documented}
    missing = []
    for leaf in leaf_keys(values):
        parts = leaf.split(".")
        if not any(".".join(parts[:n]) in keys for n in range(1, len(parts) + 1)):
            missing.append(leaf)
    return missing


def _shown(value: Any) -> str:
    text = (
        json.dumps(value)
        if not isinstance(value, str)
        else (f'"{value}"' if value == "" else value)
    )
    return "`" + text.replace("|", "\\|") + "`"


def markdown_table() -> str:
    values = yaml.safe_load(VALUES.read_text())
    documented = params()
    parents = {p.key.rpartition(".")[0] for p in documented}
    out, section = [], None
    for param in documented:
        if param.section != section:
            section = param.section
            out += ["", f"### {section}", "", "| Name | Description | Value |", "|---|---|---|"]
        value = lookup(values, param.key)
        shown = "" if value is MISSING or param.key in parents else _shown(value)
        description = param.description.replace("|", "\\|")
        out.append(f"| `{param.key}` | {description} | {shown} |")
    return "\n".join(out).lstrip("\n") + "\n"


def with_table(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}{markdown_table()}{END}{tail}"


if __name__ == "__main__":
    README.write_text(with_table(README.read_text()))
