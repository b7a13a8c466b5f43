"""Reads Faust's committed offsets for the lag metric (no public getter in Faust).

Proof: ``tests/unit/test_metrics.py``. Retire: when Faust's consumer exposes its committed
offsets; until then ``tests/unit/test_pins.py`` names ``_committed_offset``.
"""

from __future__ import annotations

from collections.abc import Iterator

import faust

from runtime.metrics import Lag


def agent_lag(app: faust.App) -> Iterator[Lag]:
    """Each agent's records not yet committed on the partitions this worker holds: the end
    offset from the consumer's last fetch (no request of its own) minus Faust's committed
    offset, or minus 0 where nothing was ever committed. Agents reading the same topic
    show the same figure: Faust commits a record once every agent on it is done."""
    consumer = app._consumer  # noqa: SLF001  # ``app.consumer`` would build one before start
    if consumer is None:
        return
    assigned = consumer.assignment()
    committed = consumer._committed_offset  # type: ignore[attr-defined]  # noqa: SLF001  # no getter
    for agent in app.agents.values():
        topics = set(agent.get_topic_names())
        for tp in assigned:
            if tp.topic not in topics:
                continue
            end = consumer.highwater(tp)
            if end is not None:  # None until the partition's first fetch
                yield Lag(agent.name, tp.topic, end - (committed.get(tp) or 0))
