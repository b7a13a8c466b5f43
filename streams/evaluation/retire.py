"""Retires published evaluation figures once the policy's ``retention.evaluation_months``
has passed, and forgets the worker's cells of months that can no longer change.

The worker keeps a cell only until its month is settled (:func:`cell_expiry`), so nothing
left in a table remembers to tombstone the published copy years later. Instead, whenever
the oldest month still kept moves on (about once a month) and once after the tables are
restored at start, the worker reads the compacted ``evaluation`` topic and tombstones the
cells of retired months held by the partitions it owns; each partition's owner retires its
own, as with every ledger. The same sweep forgets the settled months' cells that a release
which kept them for the whole retention left in the ``evaluation-cells`` ledger, so an
upgraded worker restores only what can still change from its next restart on.

:func:`decide` is the rule, without Faust or a broker; :func:`register` does the reading,
the tombstones and the settling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from runtime.kafka import BrokerRefused, BrokerUnavailable
from runtime.logging import get_logger
from runtime.settings import KafkaSettings
from runtime.topic_reader import latest_values
from schemas.policy import Policy
from streams.evaluation.figures import Figures
from streams.evaluation.recorder import cell_expiry, month_start
from streams.ledger import Ledger
from streams.ports import Out, emitter

if TYPE_CHECKING:
    from streams.context import WorkerContext

log = get_logger("evaluation")
RETRY_S: Final = 30.0
"""How soon a sweep that could not run (a rebalance, a broker that did not answer) is tried
again, when the expiry interval is longer."""


@dataclass(frozen=True)
class Retirement:
    unpublish: list[str]
    """Keys of published cells to tombstone on the ``evaluation`` topic."""
    forget: list[str]
    """Keys of the ``evaluation-cells`` ledger to remove."""


def first_kept(now: datetime, policy: Policy) -> str:
    """The oldest month (``YYYY-MM``) whose figures are still kept at ``now``: a month is
    retired once ``month_start(month, evaluation_months) <= now``. When this moves, the
    set of retired months changed."""
    zone = policy.timing.zone
    current = now.astimezone(zone).strftime("%Y-%m")
    return month_start(current, 1 - policy.retention.evaluation_months, zone).strftime("%Y-%m")


def decide(
    published: Iterable[str],
    kept: Iterable[tuple[str, int]],
    owned: Container[int],
    now: datetime,
    policy: Policy,
) -> Retirement:
    """Which published cells (keys) to tombstone, and which ledger cells (key and the
    partition holding it) to forget, of the partitions ``owned``: other partitions are
    their owner's to sweep."""
    oldest = first_kept(now, policy)
    unpublish = [
        key
        for key in published
        if (parsed := Figures.month_and_partition(key)) is not None
        and parsed[1] in owned
        and parsed[0] < oldest
    ]
    settled: dict[str, bool] = {}
    forget = []
    for key, partition in kept:
        parsed = Figures.month_and_partition(key)
        if parsed is None or partition not in owned:
            continue
        month = parsed[0]
        if month not in settled:
            settled[month] = cell_expiry(month, policy) <= now
        if settled[month]:
            forget.append(key)
    return Retirement(unpublish=unpublish, forget=forget)


def published_keys(kafka: KafkaSettings, topic: str) -> list[str]:
    """The keys of ``topic`` that hold a value now; blocking (the caller runs it in a
    thread)."""
    return list(latest_values(kafka, topic))


def register(ctx: WorkerContext, cells: Ledger[Figures]) -> None:
    recovered: asyncio.Event = ctx.app.tables.recovery.completed  # type: ignore[attr-defined]  # TableManager's, untyped on the interface
    emit = emitter(ctx.topics, ctx.outbox)

    async def sweep(now: datetime, policy: Policy) -> bool:
        """Whether it ran through; a broker that does not answer postpones it."""
        try:
            published = await asyncio.to_thread(published_keys, ctx.kafka, ctx.topics.evaluation)
        except (BrokerUnavailable, BrokerRefused) as exc:
            log.warning("evaluation retirement postponed", reason=str(exc))
            return False
        if ctx.app.rebalancing:  # what this worker owns may have changed while reading
            return False
        owned = {tp.partition for tp in ctx.app.assignor.assigned_actives()}
        kept = ((key, cells.partition_of(key)) for key in cells.references())
        plan = decide(published, ((k, p) for k, p in kept if p is not None), owned, now, policy)
        for key in plan.unpublish:
            emit(Out.EVALUATION, key, None)
        for key in plan.forget:
            cells.remove(key)
        if plan.forget:
            ctx.metrics.expired.labels(cells.name).inc(len(plan.forget))
        if plan.unpublish or plan.forget:
            # settled here: at rest no event comes to make a commit that would
            await ctx.outbox.settle()
            log.info(
                "evaluation figures retired",
                counts={"unpublished": len(plan.unpublish), "forgotten": len(plan.forget)},
            )
        return True

    @ctx.app.task  # type: ignore[untyped-decorator]  # faust.App.task is untyped
    async def retire_evaluation_months() -> None:
        """Once the tables are restored and the directory loaded (not competing with the
        start), then at the expiry interval (a Faust timer's first tick would come an
        interval after the start). At rest only a comparison: the topic is read again when
        the oldest month kept moves on, or ``evaluation_months`` changes; a sweep that could
        not run is tried again sooner."""
        swept_for: str | None = None  # the oldest month kept when the last sweep ran through
        await recovered.wait()
        await ctx.directory.ready.wait()
        while True:
            behind = True
            if not ctx.app.rebalancing:
                now, policy = ctx.clock(), ctx.policy.current
                oldest = first_kept(now, policy)
                if oldest != swept_for and await sweep(now, policy):
                    swept_for = oldest
                behind = oldest != swept_for
            interval = ctx.worker.expiry_interval_s
            await asyncio.sleep(min(interval, RETRY_S) if behind else interval)
