"""Which Kafka partition owns what is written now.

A ledger entry must be restored on the worker that owns the record it belongs to, so its
changelog record goes to that record's partition. Only the plumbing knows partitions: the
agent loop marks each event's handling with :func:`owned_by`, and a delivery from the
schedule's timer marks its entry's (:meth:`streams.ledger.Ledger.owned_like`). The domain
code in between never names a partition; :meth:`streams.ledger.Ledger.put` asks
:func:`current`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[int | None] = ContextVar("psb_owning_partition", default=None)


@contextmanager
def owned_by(partition: int) -> Iterator[None]:
    """Writes in this block (and in tasks it starts) belong to ``partition``."""
    token = _current.set(partition)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> int | None:
    """The partition that owns what is written now; ``None`` outside any event."""
    return _current.get()
