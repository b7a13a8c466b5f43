"""The worker changes how Faust and aiokafka work in private places, so the versions those
changes were written for are pinned; a different installed version, or a private member the
patches rely on that moved, fails here by name before any offer depends on it."""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as driver

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
PATCHED = ("faust-streaming", "mode-streaming", "aiokafka")


def pinned() -> dict[str, str]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    found = {}
    for requirement in dependencies:
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([0-9.]+)", requirement)
        if match:
            found[match[1]] = match[2]
    return found


@pytest.mark.parametrize("package", PATCHED)
def test_a_patched_library_is_pinned_and_installed_at_that_version(package: str) -> None:
    assert package in pinned(), f"{package} must be pinned with == in pyproject.toml"
    assert version(package) == pinned()[package], (
        f"{package} {version(package)} is installed, the worker's patches were written for "
        f"{pinned()[package]}: re-check streams/consumer.py, eager.py, transport.py, outbox.py"
    )


@pytest.mark.parametrize(
    ("owner", "member", "parameters"),
    [
        (driver.Consumer, "verify_event_path", ["self", "now", "tp"]),
        (driver.Consumer, "_new_offset", ["self", "tp"]),
        (faust_consumer.Consumer, "_add_gap", ["self", "tp", "offset_from", "offset_to"]),
        (driver.Consumer, "perform_seek", ["self"]),
        (driver.AIOKafkaConsumerThread, "_create_worker_consumer", ["self", "transport"]),
        (driver.Consumer, "pause_partitions", ["self", "tps"]),
    ],
)
def test_a_private_member_the_patches_override_keeps_its_signature(
    owner: type, member: str, parameters: list[str]
) -> None:
    function = getattr(owner, member, None)
    assert function is not None, f"{owner.__qualname__}.{member} is gone"
    assert list(inspect.signature(function).parameters) == parameters, (
        f"{owner.__qualname__}.{member} changed its signature"
    )
