"""Forgetting a leaver in the ledgers whose entries name them."""

from __future__ import annotations

from typing import Any

from streams.forget import FORGOTTEN, forget_scheduled
from streams.ledger import Ledger


class RecordingTable:
    """What a Ledger uses of a Faust table (its data) and of the outbox (changelog writes)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.changelog: list[tuple[int, str, Any]] = []

    def put_changelog(self, table: Any, partition: int, key: str, value: str | None) -> None:
        assert table is self
        self.changelog.append((partition, key, value))


def offer_json(offer_id: str, staff_ref: str) -> str:
    return f'{{"offer_id":"{offer_id}","staff_ref":"{staff_ref}"}}'


def test_the_leavers_scheduled_offers_keep_their_ids_and_lose_their_content() -> None:
    table = RecordingTable()
    ledger = Ledger(table, table)
    ledger.record("off_1", offer_json("off_1", "emp-leaves"), 2)
    ledger.record("off_2", offer_json("off_2", "emp-stays"), 1)
    ledger.record("off_3", offer_json("off_3", "emp-leaves-not"), 0)
    table.changelog.clear()

    assert forget_scheduled(ledger, "emp-leaves", partitions=3) == 1

    assert "off_1" in ledger and ledger.get("off_1") == FORGOTTEN
    assert not any('emp-leaves"' in value for _, value in ledger.items())
    assert ledger.get("off_3") == offer_json("off_3", "emp-leaves-not")
    assert table.changelog == [(p, "off_1", FORGOTTEN) for p in range(3)]


def test_deleting_everywhere_writes_a_tombstone_to_every_partition() -> None:
    table = RecordingTable()
    ledger = Ledger(table, table)
    ledger.record("sup-1", '["2026-11-01T10:00:00+00:00"]', 1)
    ledger.overwrite_everywhere("sup-1", None, partitions=2)
    assert ledger.get("sup-1") is None
    assert table.changelog[-2:] == [(0, "sup-1", None), (1, "sup-1", None)]
