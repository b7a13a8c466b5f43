"""Private Faust, mode and aiokafka names are used in ``streams/faust_fixes/`` only, where
``tests/unit/test_pins.py`` holds them to the pinned versions; anywhere else a framework
upgrade could break them unseen. The rest of the code takes from that package only what
its ``__init__`` exports."""

from __future__ import annotations

import ast
import functools
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.consumer.fetcher import Fetcher
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as driver
from mode.services import Service
from mode.threads import QueueServiceThread

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = ("streams", "runtime", "connectors", "peer_support")
FIXES = ROOT / "streams" / "faust_fixes"
FRAMEWORKS = ("faust", "aiokafka", "mode")
FRAMEWORK_CLASSES: tuple[type, ...] = (
    faust.App,
    faust.Stream,
    faust.Table,
    faust.Topic,
    faust_consumer.Consumer,
    faust_consumer.ThreadDelegateConsumer,
    driver.Consumer,
    driver.Producer,
    driver.Transport,
    driver.AIOKafkaConsumerThread,
    AIOKafkaConsumer,
    AIOKafkaProducer,
    Fetcher,
    Service,
    QueueServiceThread,
)
DOTTED_PRIVATE = re.compile(rf"^({'|'.join(FRAMEWORKS)})(\.\w+)*\._[a-z]\w*")


@functools.cache
def framework_private_names() -> frozenset[str]:
    """Private members of the framework classes the worker touches: their attributes and
    what their modules set on ``self``."""
    names: set[str] = set()
    modules = set()
    for cls in FRAMEWORK_CLASSES:
        for klass in cls.__mro__:
            if klass.__module__.split(".")[0] in FRAMEWORKS:
                names.update(vars(klass))
                modules.add(sys.modules[klass.__module__])
    for module in modules:
        source = Path(inspect.getfile(module)).read_text()
        names.update(re.findall(r"self\.(_\w+)\s*(?::[^=\n]*)?=", source))
    return frozenset(name for name in names if re.fullmatch(r"_[a-z]\w*", name))


def searched_files() -> Iterator[Path]:
    for folder in SEARCHED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if FIXES not in path.parents:
                yield path


def findings(path: Path, root: Path = ROOT) -> Iterator[str]:
    private = framework_private_names()
    where = path.relative_to(root)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in FRAMEWORKS:
                for alias in node.names:
                    if alias.name.startswith("_") or "._" in f".{node.module}":
                        yield f"{where}:{line}: imports {node.module}.{alias.name}"
            if node.module.startswith("streams.faust_fixes."):
                yield f"{where}:{line}: imports {node.module}; take it from streams.faust_fixes"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("streams.faust_fixes."):
                    yield f"{where}:{line}: imports {alias.name}; use streams.faust_fixes"
                if alias.name.split(".")[0] in FRAMEWORKS and "._" in f".{alias.name}":
                    yield f"{where}:{line}: imports {alias.name}"
        elif isinstance(node, ast.Attribute) and node.attr in private:
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                continue  # our own class's member
            yield f"{where}:{line}: reads .{node.attr}, a private member of Faust/mode/aiokafka"
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and DOTTED_PRIVATE.match(node.value)
        ):
            yield f"{where}:{line}: names {node.value}"


def test_no_private_framework_name_outside_the_patch_package() -> None:
    assert {"_new_offset", "_committed_offset", "_ensure_producer"} <= framework_private_names()
    found = [finding for path in searched_files() for finding in findings(path)]
    assert found == [], "move these into streams/faust_fixes/:\n" + "\n".join(found)


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from faust.streams import _tracks_buffer_agen\n"
        "from streams.faust_fixes.rewind import ReadOffsets\n"
        "committed = app.consumer._committed_offset\n"
        "TARGET = 'faust.streams._tracks_buffer_agen'\n"
        "self._committed_offset = {}\n"
    )
    found = list(findings(sample, tmp_path))
    assert [finding.split(":")[1] for finding in found] == ["1", "2", "3", "4"]
