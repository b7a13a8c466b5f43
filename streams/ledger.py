"""A Faust table used as a ledger of what was already done (offers, notifications).

Faust's ``table[key] = value`` writes the changelog to the partition of the *current*
event, which inside ``take_events`` is the last event of the batch, not the one being
handled. :meth:`Ledger.record` names the partition explicitly, so after a restart or a
rebalance the entry is restored on the worker that owns the record it belongs to. The
changelog record goes out with the agent's batch, through the worker's outbox.
"""

from __future__ import annotations

from typing import Any, Protocol


class ChangelogWriter(Protocol):
    def put_changelog(self, table: Any, partition: int, key: str, value: str | None) -> None: ...


class Ledger:
    def __init__(self, table: Any, changelog: ChangelogWriter) -> None:
        self._table = table
        self._changelog = changelog

    def __contains__(self, key: str) -> bool:
        return key in self._table.data

    def record(self, key: str, value: str, partition: int) -> None:
        self._table.data[key] = value
        self._write(partition, key, value)

    def remove(self, key: str, partition: int) -> bool:
        """Delete ``key``, with a tombstone in its changelog partition; whether it was there."""
        if self._table.data.pop(key, None) is None:
            return False
        self._write(partition, key, None)
        return True

    def _write(self, partition: int, key: str, value: str | None) -> None:
        self._changelog.put_changelog(self._table, partition, key, value)

    def overwrite_everywhere(self, key: str, value: str | None, partitions: int) -> None:
        """Replace (``None``: delete) ``key`` in memory and in every changelog partition.

        For entries whose partition is not known, such as those of a person who left: the
        last record of the key in each partition is then this one, so no restart brings the
        old value back.
        """
        if value is None:
            self._table.data.pop(key, None)
        else:
            self._table.data[key] = value
        for partition in range(partitions):
            self._write(partition, key, value)

    def items(self) -> list[tuple[str, str]]:
        return [(str(key), str(value)) for key, value in self._table.data.items()]

    def get(self, key: str) -> str | None:
        value = self._table.data.get(key)
        return None if value is None else str(value)

    def references(self) -> list[str]:
        return list(self._table.data.keys())

    def __len__(self) -> int:
        return len(self._table.data)
