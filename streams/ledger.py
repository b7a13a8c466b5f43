"""A Faust table used as a ledger of what was already done (offers, notifications), where
every entry knows when it is to be forgotten.

Faust's ``table[key] = value`` writes the changelog to the partition of the *current*
event, which inside ``take_events`` is the last event of the batch, not the one being
handled. :meth:`Ledger.record` names the partition explicitly, so after a restart or a
rebalance the entry is restored on the worker that owns the record it belongs to. The
changelog record goes out with the agent's batch, through the worker's outbox.

Each stored value carries its expiry and its partition (``<expiry>|<partition>|<value>``),
so :meth:`Ledger.expire` can forget it on time with a tombstone in its own changelog
partition, also after a restart restored it.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from datetime import datetime
from typing import Any, NamedTuple, Protocol


class ChangelogWriter(Protocol):
    def put_changelog(self, table: Any, partition: int, key: str, value: str | None) -> None: ...


class Entry(NamedTuple):
    value: str
    partition: int
    expires_at: float
    """Unix seconds."""


def _stored(value: str, partition: int, expires_at: float) -> str:
    return f"{int(expires_at)}|{partition}|{value}"


def unwrap(stored: str) -> Entry:
    expires, partition, value = stored.split("|", 2)
    return Entry(value, int(partition), float(expires))


class Ledger:
    def __init__(
        self,
        table: Any,
        changelog: ChangelogWriter,
        on_expire: Callable[[str, str], None] | None = None,
    ) -> None:
        self.name: str = getattr(table, "name", "")
        self._table = table
        self._changelog = changelog
        self._on_expire = on_expire

    def __contains__(self, key: str) -> bool:
        return key in self._table.data

    def record(self, key: str, value: str, partition: int, expires_at: datetime) -> None:
        stored = _stored(value, partition, expires_at.timestamp())
        self._table.data[key] = stored
        self._write(partition, key, stored)

    def replace(self, key: str, value: str) -> bool:
        """Change the value of an entry, keeping its partition and expiry; whether it was
        there."""
        entry = self.entry(key)
        if entry is None:
            return False
        stored = _stored(value, entry.partition, entry.expires_at)
        self._table.data[key] = stored
        self._write(entry.partition, key, stored)
        return True

    def remove(self, key: str) -> bool:
        """Delete ``key``, with a tombstone in its changelog partition; whether it was there."""
        stored = self._table.data.pop(key, None)
        if stored is None:
            return False
        self._write(unwrap(str(stored)).partition, key, None)
        return True

    def _write(self, partition: int, key: str, value: str | None) -> None:
        self._changelog.put_changelog(self._table, partition, key, value)

    def expire(self, now: datetime, partitions: Container[int]) -> list[str]:
        """Forget every entry of ``partitions`` whose time is up, each with a tombstone;
        returns their keys. Entries of other partitions are their owner's to forget."""
        cutoff = now.timestamp()
        expired = [
            (key, entry)
            for key, entry in ((key, unwrap(str(raw))) for key, raw in self.stored_items())
            if entry.expires_at <= cutoff and entry.partition in partitions
        ]
        for key, entry in expired:
            self._table.data.pop(key, None)
            self._write(entry.partition, key, None)
            if self._on_expire is not None:
                self._on_expire(key, entry.value)
        return [key for key, _ in expired]

    def entry(self, key: str) -> Entry | None:
        stored = self._table.data.get(key)
        return None if stored is None else unwrap(str(stored))

    def get(self, key: str) -> str | None:
        entry = self.entry(key)
        return None if entry is None else entry.value

    def stored(self, key: str) -> str | None:
        """The entry as stored (value, partition and expiry), to notice that it changed."""
        stored = self._table.data.get(key)
        return None if stored is None else str(stored)

    def stored_items(self) -> list[tuple[str, str]]:
        return [(str(key), str(stored)) for key, stored in self._table.data.items()]

    def items(self) -> list[tuple[str, str]]:
        return [(key, unwrap(stored).value) for key, stored in self.stored_items()]

    def references(self) -> list[str]:
        return list(self._table.data.keys())

    def __len__(self) -> int:
        return len(self._table.data)
