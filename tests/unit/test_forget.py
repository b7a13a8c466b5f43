"""The ledgers: forgetting a leaver in the entries that name them, and forgetting every entry
when its time is up, each with a tombstone in its own changelog partition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import StaffRole, SupportOffer
from streams.agents.dispatch import SCHEDULED, offer_person
from streams.ledger import FORGOTTEN, TEXT, Ledger, V
from streams.owner import owned_by
from streams.schedule import PENDING, Pending, Schedule, Stage
from tests.unit.fakes import Table, dispatcher

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=45)


RecordingTable = Table


def put(ledger: Ledger[V], key: str, value: V, partition: int, expires_at: datetime) -> None:
    """A write while an event of ``partition`` is handled."""
    with owned_by(partition):
        ledger.put(key, value, expires_at)


def offer_id(number: int) -> str:
    return f"off_{number:032x}"


def person(number: int) -> str:
    return f"stf_{number:032x}"


def offer(number: int, who: str, due_at: datetime = NOW) -> SupportOffer:
    return SupportOffer(
        offer_id=offer_id(number),
        incident=f"inc_{number:032x}",
        person=who,
        role=StaffRole.REPORTER,
        reported_at=NOW - timedelta(days=1),
        created_at=NOW - timedelta(days=1),
        due_at=due_at,
        policy_version="test",
    )


def scheduled_ledger(table: RecordingTable) -> Ledger[SupportOffer | None]:
    ledger = Ledger(table, table, SCHEDULED)
    ledger.index_by(offer_person)
    return ledger


def test_the_leavers_scheduled_offers_keep_their_ids_and_lose_their_content() -> None:
    table = RecordingTable()
    ledger = scheduled_ledger(table)
    leaver, stayer = person(1), person(2)
    put(ledger, offer_id(1), offer(1, leaver), 2, LATER)
    put(ledger, offer_id(2), offer(2, stayer), 1, LATER)
    put(ledger, offer_id(3), offer(3, leaver), 0, LATER)
    table.changelog.clear()

    assert dispatcher(scheduled=ledger, now=NOW).forget(leaver) == 2

    assert offer_id(1) in ledger and ledger.get(offer_id(1)) is None
    assert table.data[offer_id(1)].endswith(f"|{FORGOTTEN}")  # the format changelogs hold
    assert not any(leaver in value for value in table.data.values())
    assert ledger.get(offer_id(2)) == offer(2, stayer)
    assert sorted((p, key) for p, key, _ in table.changelog) == [(0, offer_id(3)), (2, offer_id(1))]
    entry = ledger.entry(offer_id(1))
    assert entry is not None and entry.expires_at == LATER.timestamp()  # still forgotten on time
    assert dispatcher(scheduled=ledger, now=NOW).forget(leaver) == 0


def test_forgetting_a_leaver_in_a_large_restored_ledger_touches_exactly_theirs() -> None:
    # 100,000 offers as Faust restores them (into the table's data, behind the ledger's back)
    table = RecordingTable()
    template = offer(0, person(0)).model_dump_json()
    template = template.replace(offer_id(0), "%(offer)s").replace(person(0), "%(person)s")
    expiry = int(LATER.timestamp())
    for number in range(100_000):
        stored = template % {"offer": offer_id(number), "person": person(number % 30_000)}
        table.data[offer_id(number)] = f"{expiry}|{number % 8}|{stored}"
    ledger = scheduled_ledger(table)
    before = dict(table.data)
    forget = dispatcher(scheduled=ledger, now=NOW).forget

    assert forget(person(12_345)) == 3  # 12,345 + k × 30,000

    theirs = {offer_id(12_345 + k * 30_000) for k in range(3)}
    assert {key for _, key, _ in table.changelog} == theirs
    assert all(ledger.get(key) is None and key in ledger for key in theirs)
    assert {key for key, value in before.items() if table.data[key] is not value} == theirs
    table.changelog.clear()
    assert forget(person(12_346)) == 3  # and the next one is as exact
    assert len(table.changelog) == 3


def test_a_leavers_waiting_offers_and_reminders_are_removed_with_tombstones() -> None:
    table = RecordingTable()
    schedule = Schedule(Ledger(table, table, PENDING))
    leaver, stayer = person(1), person(2)
    with owned_by(3):
        for number, who, stage in ((1, leaver, Stage.OFFER), (2, leaver, Stage.REMINDER)):
            schedule.put(Pending(offer=offer(number, who), stage=stage, due_at=LATER), LATER)
        schedule.put(Pending(offer=offer(3, stayer), stage=Stage.OFFER, due_at=NOW), LATER)
    table.changelog.clear()
    forget = dispatcher(schedule=schedule, now=NOW).forget

    assert forget(leaver) == 2

    assert sorted(table.changelog) == [(3, offer_id(1), None), (3, offer_id(2), None)]
    assert schedule.waiting() == {Stage.OFFER: 1, Stage.REMINDER: 0, Stage.LATER: 0}
    assert [pending.offer.person for pending in schedule.due(NOW, {3})] == [stayer]
    assert forget(leaver) == 0


def test_a_removed_entry_leaves_a_tombstone_in_its_own_partition() -> None:
    table = RecordingTable()
    ledger = Ledger(table, table, TEXT)
    put(ledger, "stf_1", '["2026-11-01T10:00:00+00:00"]', 1, LATER)
    assert ledger.remove("stf_1") and not ledger.remove("stf_1")
    assert ledger.get("stf_1") is None
    assert table.changelog[-1] == (1, "stf_1", None)


def test_entries_are_forgotten_when_their_time_is_up_on_the_partitions_owned() -> None:
    table = RecordingTable()
    expired: list[tuple[str, str]] = []
    ledger = Ledger(table, table, TEXT, on_expire=lambda key, value: expired.append((key, value)))
    put(ledger, "a", "1", 0, NOW + timedelta(days=1))
    put(ledger, "b", "2", 1, NOW + timedelta(days=1))
    put(ledger, "c", "3", 0, NOW + timedelta(days=30))
    put(ledger, "d", "4", 5, NOW + timedelta(days=1))  # another worker's partition
    table.changelog.clear()

    assert ledger.expire(NOW, {0, 1}) == []
    assert sorted(ledger.expire(NOW + timedelta(days=1), {0, 1})) == ["a", "b"]
    assert sorted(table.changelog) == [(0, "a", None), (1, "b", None)]
    assert expired == [("a", "1"), ("b", "2")]
    assert sorted(ledger.references()) == ["c", "d"]
    assert ledger.expire(NOW + timedelta(days=2), {5}) == ["d"]
