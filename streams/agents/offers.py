"""Agent ``offers``: the policy decides who in a signal is offered support, and when.

Idempotent: the offer id is keyed on the incident and the person, and a ledger table
remembers which offers were made, so a replayed or redelivered signal never produces a
second offer. Only people in the staff directory get offers, so it waits for the directory.
"""

from __future__ import annotations

from typing import Any

from streams.context import WorkerContext
from streams.policy.decide import decide
from streams.retention import offer_expiry


def register(ctx: WorkerContext, signals: Any, offers: Any) -> None:
    ledger = ctx.ledger("offers-made")
    metrics = ctx.metrics
    topic = offers.get_topic_name()

    @ctx.app.agent(signals, name="offers")
    async def offers_agent(stream: Any) -> None:
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            await ctx.directory.ready.wait()
            for event in events:
                policy = ctx.policy.current
                decision = decide(event.value, policy, ctx.clock(), ctx.key, ctx.directory)
                for role, reason in decision.suppressed:
                    metrics.suppressed.labels(role.value, reason.value).inc()
                for offer in decision.offers:
                    if offer.offer_id in ledger:
                        metrics.duplicates.labels("offer").inc()
                        continue
                    # the outbox sends the offer before the ledger entry that vouches for
                    # it: if the worker stops between them, the signal's replay offers
                    # again (dispatch drops the repeat) instead of the ledger hiding an
                    # offer never sent
                    ctx.outbox.put_model(topic, offer.person, offer)
                    ledger.record(
                        offer.offer_id,
                        offer.created_at.isoformat(),
                        event.message.partition,
                        offer_expiry(offer, policy),
                    )
                    metrics.offers.labels(offer.role.value).inc()
            await ctx.outbox.flush()
