"""The ledgers: forgetting a leaver in the entries that name them, and forgetting every entry
when its time is up, each with a tombstone in its own changelog partition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from streams.agents.dispatch import FORGOTTEN
from streams.forget import forget_scheduled
from streams.ledger import Ledger

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=45)


class RecordingTable:
    """What a Ledger uses of a Faust table (its data) and of the outbox (changelog writes)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.changelog: list[tuple[int, str, Any]] = []

    def put_changelog(self, table: Any, partition: int, key: str, value: str | None) -> None:
        assert table is self
        self.changelog.append((partition, key, value))


def offer_json(offer_id: str, person: str) -> str:
    return f'{{"offer_id":"{offer_id}","person":"{person}"}}'


def test_the_leavers_scheduled_offers_keep_their_ids_and_lose_their_content() -> None:
    table = RecordingTable()
    ledger = Ledger(table, table)
    ledger.record("off_1", offer_json("off_1", "stf_leaves"), 2, LATER)
    ledger.record("off_2", offer_json("off_2", "stf_stays"), 1, LATER)
    ledger.record("off_3", offer_json("off_3", "stf_leaves-not"), 0, LATER)
    table.changelog.clear()

    assert forget_scheduled(ledger, "stf_leaves") == 1

    assert "off_1" in ledger and ledger.get("off_1") == FORGOTTEN
    assert not any('stf_leaves"' in value for _, value in ledger.items())
    assert ledger.get("off_3") == offer_json("off_3", "stf_leaves-not")
    assert [(p, key) for p, key, _ in table.changelog] == [(2, "off_1")]  # its own partition
    entry = ledger.entry("off_1")
    assert entry is not None and entry.expires_at == LATER.timestamp()  # still forgotten on time


def test_a_removed_entry_leaves_a_tombstone_in_its_own_partition() -> None:
    table = RecordingTable()
    ledger = Ledger(table, table)
    ledger.record("stf_1", '["2026-11-01T10:00:00+00:00"]', 1, LATER)
    assert ledger.remove("stf_1") and not ledger.remove("stf_1")
    assert ledger.get("stf_1") is None
    assert table.changelog[-1] == (1, "stf_1", None)


def test_entries_are_forgotten_when_their_time_is_up_on_the_partitions_owned() -> None:
    table = RecordingTable()
    expired: list[tuple[str, str]] = []
    ledger = Ledger(table, table, on_expire=lambda key, value: expired.append((key, value)))
    ledger.record("a", "1", 0, NOW + timedelta(days=1))
    ledger.record("b", "2", 1, NOW + timedelta(days=1))
    ledger.record("c", "3", 0, NOW + timedelta(days=30))
    ledger.record("d", "4", 5, NOW + timedelta(days=1))  # another worker's partition
    table.changelog.clear()

    assert ledger.expire(NOW, {0, 1}) == []
    assert sorted(ledger.expire(NOW + timedelta(days=1), {0, 1})) == ["a", "b"]
    assert sorted(table.changelog) == [(0, "a", None), (1, "b", None)]
    assert expired == [("a", "1"), ("b", "2")]
    assert sorted(ledger.references()) == ["c", "d"]
    assert ledger.expire(NOW + timedelta(days=2), {5}) == ["d"]
