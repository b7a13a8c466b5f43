"""The schedule's due-time index returns what a scan of every waiting entry would, keeps
its counts per stage, and finds entries Faust restored behind its back."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.ledger import Ledger
from streams.owner import owned_by
from streams.schedule import PENDING, Pending, Schedule, Stage
from tests.unit.test_forget import NOW, RecordingTable, offer, person

NUMBERS = st.integers(0, 5)
PARTITIONS = st.integers(0, 2)
MINUTES = st.integers(0, 8)
STAGES = st.sampled_from(list(Stage))

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), NUMBERS, STAGES, MINUTES, PARTITIONS, MINUTES),
        st.tuples(st.just("remove"), NUMBERS),
        st.tuples(st.just("due"), MINUTES, st.sets(PARTITIONS)),
        st.tuples(st.just("sweep"), MINUTES),
        st.tuples(st.just("appears"), NUMBERS, STAGES, MINUTES, PARTITIONS, MINUTES),
        st.tuples(st.just("restored"), NUMBERS, STAGES, MINUTES, PARTITIONS, MINUTES),
    ),
    max_size=40,
)


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def pending(number: int, stage: Stage, due: int) -> Pending:
    return Pending(offer=offer(number, person(number)), stage=stage, due_at=at(due))


def stored(entry: Pending, partition: int, expires: int) -> str:
    return f"{int(at(expires).timestamp())}|{partition}|{entry.model_dump_json()}"


def put(schedule: Schedule, entry: Pending, partition: int, expires: int) -> None:
    with owned_by(partition):
        schedule.put(entry, at(expires))


@settings(max_examples=150, deadline=None)
@given(OPERATIONS)
def test_the_due_index_returns_what_a_full_scan_would(operations: list[tuple[object, ...]]) -> None:
    table = RecordingTable()
    ledger = Ledger(table, table, PENDING)
    schedule = Schedule(ledger)
    model: dict[str, tuple[Pending, int, int]] = {}  # offer id -> entry, partition, expiry
    for operation in operations:
        match operation:
            case ("put", int(n), Stage() as stage, int(due), int(partition), int(expires)):
                entry = pending(n, stage, due)
                put(schedule, entry, partition, expires)
                model[entry.offer.offer_id] = (entry, partition, expires)
            case ("remove", int(n)):
                schedule.remove(offer(n, person(n)).offer_id)
                model.pop(offer(n, person(n)).offer_id, None)
            case ("due", int(now), set(partitions)):
                scan = sorted(
                    (
                        entry
                        for entry, partition, expires in model.values()
                        if entry.due_at <= at(now) and partition in partitions and expires > now
                    ),
                    key=lambda entry: entry.due_at,
                )
                found = schedule.due(at(now), partitions)
                assert sorted(found, key=lambda e: e.offer.offer_id) == sorted(
                    scan, key=lambda e: e.offer.offer_id
                )
                assert [e.due_at for e in found] == [e.due_at for e in scan]
            case ("sweep", int(now)):  # the retention sweep, on every partition
                ledger.expire(at(now), range(3))
                model = {key: kept for key, kept in model.items() if kept[2] > now}
            case ("appears", int(n), Stage() as stage, int(due), int(partition), int(expires)):
                entry = pending(n, stage, due)
                if entry.offer.offer_id not in model:
                    table.data[entry.offer.offer_id] = stored(entry, partition, expires)
                    model[entry.offer.offer_id] = (entry, partition, expires)
            case ("restored", int(n), Stage() as stage, int(due), int(partition), int(expires)):
                entry = pending(n, stage, due)
                table.data[entry.offer.offer_id] = stored(entry, partition, expires)
                table.recovered()
                model[entry.offer.offer_id] = (entry, partition, expires)
            case _:
                raise AssertionError(operation)
        stages = [entry.stage for entry, _, _ in model.values()]
        assert schedule.waiting() == {stage: stages.count(stage) for stage in Stage}
        assert len(schedule) == len(model)


def test_what_a_restore_brought_back_is_due_and_counted() -> None:
    table = RecordingTable()
    schedule = Schedule(Ledger(table, table, PENDING))
    put(schedule, pending(1, Stage.OFFER, 5), 0, 60)
    assert schedule.due(at(0), {0}) == []  # the index is built
    table.data[offer(2, person(2)).offer_id] = stored(pending(2, Stage.REMINDER, 1), 1, 60)

    assert schedule.waiting() == {Stage.OFFER: 1, Stage.REMINDER: 1, Stage.LATER: 0}
    assert [entry.offer.offer_id for entry in schedule.due(at(5), {0, 1})] == [
        offer(2, person(2)).offer_id,
        offer(1, person(1)).offer_id,
    ]


def test_entries_of_partitions_not_owned_wait_until_they_are() -> None:
    table = RecordingTable()
    schedule = Schedule(Ledger(table, table, PENDING), lambda: {4})
    put(schedule, pending(1, Stage.OFFER, 0), 4, 60)
    assert schedule.due(at(1), {0, 1}) == []

    assert [entry.offer.offer_id for entry in schedule.due(at(2))] == [offer(1, person(1)).offer_id]


def test_an_entry_whose_delivery_failed_is_due_again_at_the_next_tick() -> None:
    table = RecordingTable()
    schedule = Schedule(Ledger(table, table, PENDING))
    put(schedule, pending(1, Stage.OFFER, 0), 0, 60)
    assert len(schedule.due(at(1), {0})) == 1  # and nothing removed or replaced it

    assert len(schedule.due(at(1), {0})) == 1
    schedule.put(pending(1, Stage.REMINDER, 30), at(60))  # delivered: the reminder waits
    assert schedule.due(at(2), {0}) == []


def test_an_entry_moved_and_moved_back_is_due_once() -> None:
    table = RecordingTable()
    schedule = Schedule(Ledger(table, table, PENDING))
    for due in (1, 2, 1):
        put(schedule, pending(1, Stage.LATER, due), 0, 60)

    assert len(schedule.due(at(3), {0})) == 1


def test_an_entry_stored_with_its_partition_in_the_value_still_restores() -> None:
    # changelogs written before the ledger kept the partition: the value carried it too
    table = RecordingTable()
    schedule = Schedule(Ledger(table, table, PENDING))
    entry = pending(1, Stage.REMINDER, 5)
    old = entry.model_dump_json()[:-1] + ',"partition":2}'
    table.data[entry.offer.offer_id] = f"{int(at(60).timestamp())}|2|{old}"

    assert schedule.due(at(5), {2}) == [entry]
    schedule.put(pending(1, Stage.REMINDER, 9), at(60))  # from the timer: where it was
    assert table.changelog[-1][0] == 2
    assert '"partition"' not in table.data[entry.offer.offer_id]
