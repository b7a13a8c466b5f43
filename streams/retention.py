"""Every table of the worker forgets on schedule (GDPR art. 5(1)(e), storage limitation).

What is kept about an offer (that it was made, scheduled, notified, answered, handed off)
is forgotten once the policy's ``retention.offers`` has passed since the offer was made, its
evaluation cell once no offer of its month is left (the published figures are retired by
:mod:`streams.evaluation.retire`). A timer removes what is due, with a tombstone in each
entry's changelog partition, on the worker that owns that partition.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from runtime.logging import get_logger
from schemas import SupportOffer
from schemas.policy import Policy

if TYPE_CHECKING:
    from streams.context import WorkerContext

log = get_logger("retention")


def offer_expiry(offer: SupportOffer, policy: Policy) -> datetime:
    """When everything kept about ``offer`` is forgotten."""
    return offer.created_at + policy.retention.offers


def expire_all(ctx: WorkerContext) -> int:
    """Forget what is due in every ledger of the partitions this worker owns."""
    if ctx.app.rebalancing:
        return 0
    owned = {tp.partition for tp in ctx.app.assignor.assigned_actives()}
    now = ctx.clock()
    forgotten = 0
    for ledger in ctx.ledgers:
        count = len(ledger.expire(now, owned))
        if count:
            ctx.metrics.expired.labels(ledger.name).inc(count)
            forgotten += count
    if forgotten:
        log.info("entries forgotten on schedule", count=forgotten)
    return forgotten


def register(ctx: WorkerContext) -> None:
    @ctx.app.timer(interval=ctx.worker.expiry_interval_s)  # type: ignore[untyped-decorator]
    async def forget_on_schedule() -> None:
        if expire_all(ctx):
            # settled here, not at the next commit: at rest no event comes to make one
            await ctx.outbox.settle()
