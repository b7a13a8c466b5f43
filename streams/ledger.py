"""A Faust table used as a ledger of what was already done (offers, notifications), where
every entry knows when it is to be forgotten.

Faust's ``table[key] = value`` writes the changelog to the partition of the *current*
event, which inside ``take_events`` is the last event of the batch, not the one being
handled. :meth:`Ledger.put` writes to the partition that owns what is handled now
(:mod:`streams.owner`, set by the plumbing around each event), so after a restart or a
rebalance the entry is restored on the worker that owns the record it belongs to; callers
never name a partition. The changelog record goes out with the agent's batch, through the
worker's outbox.

Each stored value carries its expiry and its partition (``<expiry>|<partition>|<value>``),
so :meth:`Ledger.expire` can forget it on time with a tombstone in its own changelog
partition, also after a restart restored it. Values are typed through a :class:`Codec`;
the stored text is what it always was (a model's JSON, or plain text), so changelogs
written before stay readable.

The indexes (expiry per partition, and optionally the entries of a group such as a person)
keep the sweep and forgetting proportional to what they touch, not to the ledger's size.
Faust restores entries into ``table.data`` without passing through :meth:`Ledger.put`, so
the indexes are rebuilt when the table reports a recovery (``table.on_recover``) or when
its size no longer matches what was put.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Container, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar

from pydantic import BaseModel

from streams import owner

V = TypeVar("V")
M = TypeVar("M", bound=BaseModel)


class ChangelogWriter(Protocol):
    def put_changelog(self, table: Any, partition: int, key: str, value: str | None) -> None: ...


class Codec(Protocol[V]):
    def dump(self, value: V) -> str: ...

    def load(self, raw: str) -> V: ...


class Text:
    """Values kept as they are (timestamps, months)."""

    def dump(self, value: str) -> str:
        return value

    def load(self, raw: str) -> str:
        return raw


TEXT: Final = Text()


class Json(Generic[M]):
    """A pydantic model, stored as its JSON."""

    def __init__(self, model: type[M]) -> None:
        self.model = model

    def dump(self, value: M) -> str:
        return value.model_dump_json()

    def load(self, raw: str) -> M:
        return self.model.model_validate_json(raw)


FORGOTTEN: Final = "forgotten"
"""What is stored in place of a value that named a person who left."""


class Forgettable(Generic[M]):
    """A model, or ``None`` where it was forgotten: the key stays (that it was done)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model

    def dump(self, value: M | None) -> str:
        return FORGOTTEN if value is None else value.model_dump_json()

    def load(self, raw: str) -> M | None:
        return None if raw == FORGOTTEN else self.model.model_validate_json(raw)


class Entry(NamedTuple):
    value: str
    """As stored, before the codec."""
    partition: int
    expires_at: float
    """Unix seconds."""


def _stored(value: str, partition: int, expires_at: float) -> str:
    return f"{int(expires_at)}|{partition}|{value}"


def unwrap(stored: str) -> Entry:
    expires, partition, value = stored.split("|", 2)
    return Entry(value, int(partition), float(expires))


def _prefix(stored: str) -> tuple[float, int]:
    """Expiry and partition, without copying the value."""
    first = stored.index("|")
    second = stored.index("|", first + 1)
    return float(stored[:first]), int(stored[first + 1 : second])


class Ledger(Generic[V]):
    def __init__(
        self,
        table: Any,
        changelog: ChangelogWriter,
        codec: Codec[V],
        on_expire: Callable[[str, V], None] | None = None,
    ) -> None:
        self.name: str = getattr(table, "name", "")
        self._table = table
        self._changelog = changelog
        self._codec = codec
        self.on_expire: list[Callable[[str, V], None]] = [] if on_expire is None else [on_expire]
        self.generation = 0  # moves on when the table changed underneath (a restore)
        self._count = 0  # entries as this ledger knows them; another size means a restore
        self._changed = True
        self._expiry: dict[int, list[tuple[float, str]]] = {}  # per partition, lazily pruned
        self._group: Callable[[V], str | None] | None = None
        self._members: dict[str, set[str]] | None = None  # built when first asked for
        on_recover = getattr(table, "on_recover", None)
        if on_recover is not None:
            on_recover(self._recovered)

    async def _recovered(self) -> None:
        self._changed = True

    def index_by(self, group: Callable[[V], str | None]) -> None:
        """Keep the keys of each group (e.g. the person a value names), for :meth:`keys_of`."""
        self._group = group
        self._members = None

    def sync(self) -> bool:
        """Rebuild the indexes if the table changed underneath; whether it did."""
        data = self._table.data
        if not self._changed and len(data) == self._count:
            return False
        self._changed = False
        self._count = len(data)
        heaps: dict[int, list[tuple[float, str]]] = {}
        for key, stored in data.items():
            expires, partition = _prefix(stored)
            heaps.setdefault(partition, []).append((expires, key))
        for heap in heaps.values():
            heapq.heapify(heap)
        self._expiry = heaps
        self._members = None
        self.generation += 1
        return True

    def __contains__(self, key: str) -> bool:
        return key in self._table.data

    def put(self, key: str, value: V, expires_at: datetime) -> int:
        """Write ``key`` in the partition that owns what is handled now (outside any event,
        an entry being replaced keeps its own); returns that partition."""
        self.sync()
        data = self._table.data
        old = data.get(key)
        partition = owner.current()
        if partition is None:
            if old is None:
                raise LookupError(f"ledger {self.name}: a new entry outside any event")
            partition = _prefix(old)[1]
        stored = _stored(self._codec.dump(value), partition, expires_at.timestamp())
        if old is None:
            self._count += 1
        else:
            self._leave(key, old)
        data[key] = stored
        self._join(key, value)
        if old is None or _prefix(old) != _prefix(stored):
            heapq.heappush(self._expiry.setdefault(partition, []), (_prefix(stored)[0], key))
        self._write(partition, key, stored)
        return partition

    def replace(self, key: str, value: V) -> bool:
        """Change the value of an entry, keeping its partition and expiry; whether it was
        there."""
        self.sync()
        data = self._table.data
        old = data.get(key)
        if old is None:
            return False
        entry = unwrap(old)
        stored = _stored(self._codec.dump(value), entry.partition, entry.expires_at)
        self._leave(key, old)
        data[key] = stored
        self._join(key, value)
        self._write(entry.partition, key, stored)
        return True

    def remove(self, key: str) -> bool:
        """Delete ``key``, with a tombstone in its changelog partition; whether it was there."""
        self.sync()
        stored = self._table.data.pop(key, None)
        if stored is None:
            return False
        self._count -= 1
        self._leave(key, stored)
        self._write(_prefix(stored)[1], key, None)
        return True

    def _write(self, partition: int, key: str, value: str | None) -> None:
        self._changelog.put_changelog(self._table, partition, key, value)

    def expire(self, now: datetime, partitions: Container[int]) -> list[str]:
        """Forget every entry of ``partitions`` whose time is up, each with a tombstone;
        returns their keys. Entries of other partitions are their owner's to forget."""
        self.sync()
        cutoff = now.timestamp()
        data = self._table.data
        expired: list[tuple[str, str]] = []
        for partition, heap in self._expiry.items():
            if partition not in partitions:
                continue
            while heap and heap[0][0] <= cutoff:
                _, key = heapq.heappop(heap)
                stored = data.get(key)
                if stored is None:
                    continue  # removed since
                expires, held_in = _prefix(stored)
                if held_in != partition or expires > cutoff:
                    continue  # put again since: its own index entry stands
                del data[key]
                self._count -= 1
                self._leave(key, stored)
                self._write(partition, key, None)
                expired.append((key, stored))
        if self.on_expire:
            for key, stored in expired:
                value = self._codec.load(unwrap(stored).value)
                for callback in self.on_expire:
                    callback(key, value)
        return [key for key, _ in expired]

    def keys_of(self, group: str) -> list[str]:
        """The keys whose value belongs to ``group`` (see :meth:`index_by`)."""
        self.sync()
        if self._group is None:
            raise LookupError(f"ledger {self.name} is not indexed by group")
        if self._members is None:
            members: dict[str, set[str]] = {}
            for key, value in self.items():
                name = self._group(value)
                if name is not None:
                    members.setdefault(name, set()).add(key)
            self._members = members
        return sorted(self._members.get(group, ()))

    def _join(self, key: str, value: V) -> None:
        if self._members is None or self._group is None:
            return
        group = self._group(value)
        if group is not None:
            self._members.setdefault(group, set()).add(key)

    def _leave(self, key: str, stored: str) -> None:
        if self._members is None or self._group is None:
            return
        group = self._group(self._codec.load(unwrap(stored).value))
        keys = None if group is None else self._members.get(group)
        if group is not None and keys is not None:
            keys.discard(key)
            if not keys:
                del self._members[group]

    def partition_of(self, key: str) -> int | None:
        """The partition whose changelog holds ``key``."""
        stored = self._table.data.get(key)
        return None if stored is None else _prefix(stored)[1]

    def owned_like(self, key: str) -> AbstractContextManager[None]:
        """Writes in this block belong to the partition that holds ``key`` (a delivery from
        the schedule's timer writes where its entry is)."""
        partition = self.partition_of(key)
        if partition is None:
            raise KeyError(key)
        return owner.owned_by(partition)

    def entries(self) -> Iterator[tuple[str, V, int]]:
        """Every entry, decoded, with its partition: for rebuilding per-partition indexes."""
        load = self._codec.load
        for key, stored in list(self._table.data.items()):
            entry = unwrap(stored)
            yield str(key), load(entry.value), entry.partition

    def entry(self, key: str) -> Entry | None:
        stored = self._table.data.get(key)
        return None if stored is None else unwrap(str(stored))

    def get(self, key: str) -> V | None:
        stored = self._table.data.get(key)
        return None if stored is None else self._codec.load(unwrap(stored).value)

    def items(self) -> Iterator[tuple[str, V]]:
        """Every entry, decoded: for rebuilding what is derived from them."""
        load = self._codec.load
        for key, stored in list(self._table.data.items()):
            yield str(key), load(unwrap(stored).value)

    def references(self) -> list[str]:
        return list(self._table.data.keys())

    def __len__(self) -> int:
        return len(self._table.data)
