"""Each layer imports only the layers below it: schemas < runtime < streams, connectors <
peer_support. ``streams`` and ``connectors`` are independent of each other (they share only
topics). ``bench`` and ``tools`` may use every layer but not ``tests``, which imports them.
Imports inside functions count as much as those at the top of a module."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RANK = {"schemas": 0, "runtime": 1, "streams": 2, "connectors": 2, "peer_support": 3}
FREE = ("bench", "tools")
"""May import any layer; never ``tests``."""


def imported(path: Path, package: str) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every import in a module of ``package``, relative ones
    resolved."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, package
            elif node.module is not None:
                yield node.lineno, node.module.split(".")[0]


def modules(*packages: str) -> Iterator[tuple[str, Path]]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_no_layer_imports_one_above_it_or_beside_it() -> None:
    found = [
        f"{where(path, line)} imports {target} ({package} may not)"
        for package, path in modules(*RANK)
        for line, target in imported(path, package)
        if target in RANK and target != package and RANK[target] >= RANK[package]
    ]
    assert not found, "\n".join(found)


def test_no_layer_imports_the_tests_bench_or_tools() -> None:
    found = [
        f"{where(path, line)} imports {target}"
        for package, path in modules(*RANK)
        for line, target in imported(path, package)
        if target in ("tests", *FREE)
    ]
    assert not found, "\n".join(found)


def test_bench_and_tools_do_not_import_the_tests() -> None:
    found = [
        where(path, line)
        for package, path in modules(*FREE)
        for line, target in imported(path, package)
        if target == "tests"
    ]
    assert not found, "\n".join(found)


def test_make_runs_no_code_from_the_tests() -> None:
    """Only pytest runs ``tests``: a maintainer's target that needs test code means that
    code belongs in ``tools``."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = [
        f"Makefile:{number}"
        for number, line in enumerate(makefile.splitlines(), 1)
        if re.search(r"-m\s+tests\b|\btests/\S+\.py\b", line)
    ]
    assert not found, "\n".join(found)


def test_the_check_sees_late_and_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "late.py"
    module.write_text(
        "from . import clock\n\ndef f() -> None:\n"
        "    from streams.app import create_app\n    import peer_support.cli\n"
    )
    assert sorted(imported(module, "runtime")) == [
        (1, "runtime"),
        (4, "streams"),
        (5, "peer_support"),
    ]
