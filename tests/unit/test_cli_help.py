"""``--help`` of every command reads as a user expects: flags without a type, sentences
not cut where the source wrapped them, the top-level commands grouped in panels."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from peer_support.cli import PANELS, app

WIDE = "1000"  # no line wraps at this width, so every line break left is one of the text's


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": WIDE})
    assert result.exit_code == 0, (path, result.output)
    return result.output


def _panels(output: str) -> dict[str, list[str]]:
    """Panel title → its rows, each without the box's borders."""
    panels: dict[str, list[str]] = {}
    rows: list[str] = []
    for line in output.splitlines():
        if line.startswith("╭─"):
            rows = panels.setdefault(line.strip("╭─╮ "), [])
        elif line.startswith("│"):
            rows.append(line.strip("│ "))
    return panels


def _names(command: Any) -> set[str]:
    """What a row of this command's help may start with: a subcommand, an option, an
    argument."""
    names = set(getattr(command, "commands", {}))
    for param in command.params:
        names.update(param.opts, param.secondary_opts, {param.name or "", param.metavar or ""})
    return names | {"--help"}


@pytest.mark.parametrize(
    ("path", "command"),
    [pytest.param(path, command, id=" ".join(path) or "(top)") for path, command in COMMANDS],
)
def test_help_shows_flags_as_flags_and_whole_sentences(path: tuple[str, ...], command: Any) -> None:
    output = _help(path)
    assert "<bool>" not in output
    # a row that does not start with a name continues the row above: a cut sentence
    names = _names(command)
    for title, rows in _panels(output).items():
        for row in rows:
            assert row.lstrip("* ").split(maxsplit=1)[0] in names, (title, row)
    # the prose above the panels: each paragraph on one line
    prose = output.split("╭", 1)[0].splitlines()[2:]  # after the usage line
    for above, below in pairwise(prose):
        assert not (above.strip() and below.strip()), (above, below)


def test_every_top_level_command_is_in_its_panel_in_order() -> None:
    panels = _panels(_help(()))
    shown = {title: [row.split()[0] for row in rows] for title, rows in panels.items()}
    assert list(shown) == ["Options", *PANELS]  # no "Commands" panel of the unplaced
    for title, names in PANELS.items():
        assert shown[title] == list(names)
    top_level = sorted(path[0] for path, _ in COMMANDS if len(path) == 1)
    assert sorted(name for names in PANELS.values() for name in names) == top_level
