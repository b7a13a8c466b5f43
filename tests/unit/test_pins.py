"""The worker changes how Faust, mode and aiokafka work in private places
(``streams/faust_fixes/``), so the versions those patches were written for are pinned; a
different installed version, or a private member a patch relies on that moved, fails here
naming the patch before any offer depends on it."""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import faust
import faust.streams
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.consumer import consumer as aiokafka_consumer
from aiokafka.consumer.fetcher import Fetcher
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as driver
from mode.services import Service, ServiceTask
from mode.threads import QueueServiceThread

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
FIXES = ROOT / "streams" / "faust_fixes"
PATCHED = ("faust-streaming", "mode-streaming", "aiokafka")

# patch module -> (owner, private or overridden member, its parameters)
MEMBERS: dict[str, list[tuple[object, str, list[str]]]] = {
    "rewind": [
        (driver.Consumer, "perform_seek", ["self"]),
        (driver.Consumer, "seek", ["self", "partition", "offset"]),
        (faust_consumer.Consumer, "_add_gap", ["self", "tp", "offset_from", "offset_to"]),
        (driver.Consumer, "_new_offset", ["self", "tp"]),
        (driver.Consumer, "commit", ["self", "topics", "start_new_transaction"]),
    ],
    "thread_seeks": [
        (driver.Consumer, "_seek", ["self", "partition", "offset"]),
        (driver.AIOKafkaConsumerThread, "seek", ["self", "partition", "offset"]),
        (QueueServiceThread, "call_thread", ["self", "fun", "args", "kwargs"]),
    ],
    "paused_fetch": [
        (driver.Consumer, "pause_partitions", ["self", "tps"]),
        (driver.Consumer, "resume_partitions", ["self", "tps"]),
        (driver.Consumer, "verify_event_path", ["self", "now", "tp"]),
    ],
    "fetch_wait": [
        (driver.Consumer, "_new_consumer_thread", ["self"]),
        (driver.AIOKafkaConsumerThread, "on_start", ["self"]),
        (Fetcher, "_proc_fetch_request", ["self", "assignment", "node_id", "request"]),
    ],
    "eager_handover": [(Service, "wait_first", ["self", "coros", "timeout"])],
    "lingering_batches": [
        (faust.Stream, "take_events", ["self", "max_", "within"]),
        (faust.Stream, "_enable_passive", ["self", "channel", "declare"]),
    ],
    "batched_producer": [
        (driver.Producer, "_ensure_producer", ["self"]),
        (driver.Producer, "flush", ["self"]),
        (AIOKafkaProducer, "create_batch", ["self"]),
        (AIOKafkaProducer, "send_batch", ["self", "batch", "topic", "partition"]),
        (AIOKafkaProducer, "partitions_for", ["self", "topic"]),
    ],
    "app": [
        (faust.App, "_new_transport", ["self"]),
        (faust.App, "_new_producer_transport", ["self"]),
        (faust.App, "on_start", ["self"]),
    ],
    "recovery": [
        (Recovery, "need_recovery", ["self"]),
        (Recovery, "standby_remaining_total", ["self"]),
        (Recovery, "flush_buffers", ["self"]),
        (Recovery, "_set_recovery_ended", ["self"]),
        (Recovery, "_set_recovery_started", ["self"]),
        (Recovery, "active_remaining", ["self"]),
        (Recovery, "revoke", ["self", "tp"]),
        (
            Recovery,
            "on_rebalance",
            ["self", "assigned", "revoked", "newly_assigned", "generation_id"],
        ),
    ],
}

# patch module -> (the function or class that sets it, ``self.<attribute>``)
ATTRIBUTES: dict[str, list[tuple[object, str]]] = {
    "rewind": [
        (faust_consumer.Consumer.__init__, "_read_offset"),
        (faust_consumer.Consumer.__init__, "_committed_offset"),
        (faust_consumer.Consumer.__init__, "_acked"),
        (faust_consumer.Consumer.__init__, "_acked_index"),
    ],
    "paused_fetch": [
        (faust_consumer.Consumer, "_paused_partitions"),
        (faust_consumer.ThreadDelegateConsumer, "_thread"),
        (driver.AIOKafkaConsumerThread.on_start, "_consumer"),
    ],
    "fetch_wait": [
        (aiokafka_consumer.AIOKafkaConsumer.start, "_fetcher"),
        (Fetcher.__init__, "_fetch_max_wait_ms"),
        (Fetcher.__init__, "_fetcher_timeout"),
    ],
    "lingering_batches": [(faust.Stream.__init__, "_processors")],
    "lag": [(faust.App, "_consumer"), (faust_consumer.Consumer.__init__, "_committed_offset")],
    "recovery": [
        (Recovery.__init__, "buffer_sizes"),
        (Recovery.__init__, "_processing_times"),
        (Recovery.__init__, "_active_events_received_at"),
        (Recovery.__init__, "_standby_events_received_at"),
        (Recovery._set_recovery_started, "_last_active_event_processed_at"),
        (Recovery, "_actives_span"),
        (Recovery, "_standbys_span"),
        (TableManager, "_recovery"),
    ],
}


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
        f"{pinned()[package]}: re-check every module of streams/faust_fixes/ "
        "(docs/adr/0001-faust-and-its-patches.md)"
    )


def test_every_patch_module_is_named_here() -> None:
    modules = {path.stem for path in FIXES.glob("*.py")} - {"__init__", "consumer"}
    named = set(MEMBERS) | set(ATTRIBUTES) | {"lag"}
    assert modules <= named, f"name the members these patches rely on: {modules - named}"


@pytest.mark.parametrize(
    ("patch", "owner", "member", "parameters"),
    [(patch, *entry) for patch, entries in MEMBERS.items() for entry in entries],
)
def test_a_member_a_patch_overrides_or_calls_keeps_its_signature(
    patch: str, owner: type, member: str, parameters: list[str]
) -> None:
    function = getattr(owner, member, None)
    where = f"streams/faust_fixes/{patch}.py relies on {owner.__qualname__}.{member}"
    assert function is not None, f"{where}, which is gone"
    assert list(inspect.signature(function).parameters) == parameters, (
        f"{where}, whose signature changed"
    )


@pytest.mark.parametrize(
    ("patch", "setter", "attribute"),
    [(patch, *entry) for patch, entries in ATTRIBUTES.items() for entry in entries],
)
def test_a_private_attribute_a_patch_reads_is_still_set(
    patch: str, setter: object, attribute: str
) -> None:
    source = inspect.getsource(setter)  # type: ignore[arg-type]
    assert f"self.{attribute}" in source, (
        f"streams/faust_fixes/{patch}.py reads .{attribute}, which "
        f"{getattr(setter, '__qualname__', setter)} no longer sets"
    )


def test_the_private_decorator_the_batches_reuse_is_still_there() -> None:
    assert callable(getattr(faust.streams, "_tracks_buffer_agen", None)), (
        "streams/faust_fixes/lingering_batches.py relies on faust.streams._tracks_buffer_agen"
    )


def test_the_recovery_loop_the_batches_replace_is_still_a_task_of_that_name() -> None:
    assert isinstance(vars(Recovery).get("_slurp_changelogs"), ServiceTask), (
        "streams/faust_fixes/recovery.py replaces Recovery._slurp_changelogs, which is gone"
    )
