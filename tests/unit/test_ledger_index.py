"""A ledger's indexes (expiry per partition, entries per group) answer what a full scan of
the table would, also after Faust restored entries into the table behind the ledger's back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import TP
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.ledger import TEXT, Ledger
from tests.unit.test_forget import NOW, RecordingTable, put

KEYS = st.sampled_from([f"k{number}" for number in range(5)])
PARTITIONS = st.integers(0, 3)
DAYS = st.integers(0, 6)

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), KEYS, st.sampled_from("abc"), PARTITIONS, DAYS),
        st.tuples(st.just("replace"), KEYS, st.sampled_from("abc")),
        st.tuples(st.just("remove"), KEYS),
        st.tuples(st.just("expire"), DAYS, st.sets(PARTITIONS)),
        st.tuples(st.just("appears"), KEYS, st.sampled_from("abc"), PARTITIONS, DAYS),
        st.tuples(st.just("restored"), KEYS, st.sampled_from("abc"), PARTITIONS, DAYS),
        st.tuples(st.just("revoked"), PARTITIONS),
    ),
    max_size=40,
)


def stored(value: str, partition: int, days: int) -> str:
    return f"{int((NOW + timedelta(days=days)).timestamp())}|{partition}|{value}"


@settings(max_examples=200, deadline=None)
@given(OPERATIONS)
def test_the_indexes_answer_what_a_full_scan_would(operations: list[tuple[object, ...]]) -> None:
    table = RecordingTable()
    ledger = Ledger(table, table, TEXT)
    ledger.index_by(lambda value: value)  # the group of a value is the value
    model: dict[str, tuple[str, int, int]] = {}  # key -> value, partition, days
    for operation in operations:
        match operation:
            case ("put", str(key), str(value), int(partition), int(days)):
                put(ledger, key, value, partition, NOW + timedelta(days=days))
                model[key] = (value, partition, days)
            case ("replace", str(key), str(value)):
                assert ledger.replace(key, value) == (key in model)
                if key in model:
                    model[key] = (value, *model[key][1:])
            case ("remove", str(key)):
                assert ledger.remove(key) == (key in model)
                model.pop(key, None)
            case ("expire", int(days), set(partitions)):
                scan = {
                    key
                    for key, (_, partition, until) in model.items()
                    if until <= days and partition in partitions
                }
                assert set(ledger.expire(NOW + timedelta(days=days), partitions)) == scan
                for key in scan:
                    del model[key]
            case ("appears", str(key), str(value), int(partition), int(days)):
                if key not in model:  # a new entry restored: the table grew underneath
                    table.data[key] = stored(value, partition, days)
                    model[key] = (value, partition, days)
            case ("restored", str(key), str(value), int(partition), int(days)):
                table.data[key] = stored(value, partition, days)  # then Faust says so
                table.recovered()
                model[key] = (value, partition, days)
            case ("revoked", int(partition)):  # Faust drops the entries of a lost partition
                for key in [key for key, entry in model.items() if entry[1] == partition]:
                    del table.data[key], model[key]
                table.recovered()
            case _:
                raise AssertionError(operation)
        assert {key: ledger.get(key) for key in model} == {k: v[0] for k, v in model.items()}
        for value in "abc":
            assert ledger.keys_of(value) == sorted(k for k, v in model.items() if v[0] == value)
    assert set(ledger.expire(NOW + timedelta(days=7), range(4))) == set(model)
    assert len(ledger) == 0


def test_entries_restored_behind_the_ledgers_back_are_forgotten_on_time() -> None:
    table = RecordingTable()
    ledger = Ledger(table, table, TEXT)
    put(ledger, "mine", "1", 0, NOW + timedelta(days=1))
    assert ledger.expire(NOW, {0, 1}) == []  # the index is built
    table.data["restored"] = stored("2", 1, 1)  # as Faust's recovery writes it

    assert sorted(ledger.expire(NOW + timedelta(days=1), {0, 1})) == ["mine", "restored"]
    assert (1, "restored", None) in table.changelog


def test_a_value_replaced_by_a_restore_is_indexed_once_faust_reports_the_recovery() -> None:
    table = RecordingTable()
    ledger = Ledger(table, table, TEXT)
    ledger.index_by(lambda value: value)
    put(ledger, "k", "old", 0, NOW + timedelta(days=9))
    assert ledger.keys_of("old") == ["k"]
    table.data["k"] = stored("new", 2, 1)  # same size: only the recovery hook tells
    table.recovered()

    assert ledger.keys_of("old") == [] and ledger.keys_of("new") == ["k"]
    assert ledger.expire(NOW + timedelta(days=1), {2}) == ["k"]


def test_faust_restoring_a_table_and_dropping_a_lost_partition_reaches_the_indexes() -> None:
    async def restore() -> tuple[list[str], list[str], list[str]]:
        app = faust.App("ledger-test", broker="kafka://localhost:1", store="memory://")
        table = app.Table("made", default=None, key_type=str, value_type=str)
        changelog = RecordingTable()
        ledger = Ledger(table, changelog, TEXT)
        ledger.index_by(lambda value: value)
        assert ledger.keys_of("a") == []  # indexed while empty

        def event(key: str, value: str | None, partition: int) -> Any:
            message = SimpleNamespace(value=value, partition=partition)
            return SimpleNamespace(key=key, value=value, message=message)

        table.apply_changelog_batch(  # what Faust's recovery does with a changelog
            [event("k1", stored("a", 0, 1), 0), event("k2", stored("a", 1, 1), 1)]
        )
        found = ledger.keys_of("a")
        topic = table.changelog_topic_name
        await table.on_recovery_completed({TP(topic, 0)}, set())  # partition 1 went elsewhere
        kept = ledger.keys_of("a")
        table.apply_changelog_batch([event("k1", stored("b", 0, 1), 0)])  # same size
        await table.on_recovery_completed({TP(topic, 0)}, set())
        return found, kept, ledger.keys_of("b")

    assert asyncio.run(restore()) == (["k1", "k2"], ["k1"], ["k1"])


def test_a_new_entry_written_outside_any_event_is_refused() -> None:
    # it would go to no partition, and never be restored
    table = RecordingTable()
    ledger = Ledger(table, table, TEXT)
    with pytest.raises(LookupError):
        ledger.put("k", "v", NOW)
