"""Agent ``offers``: the policy decides who in a signal is offered support, and when.

Idempotent: the offer id is keyed on the incident and the person, and a ledger table
remembers which offers were made, so a replayed or redelivered signal never produces a
second offer. Only people in the staff directory get offers, so it waits for the directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind

from runtime import tracing
from runtime.logging import get_logger
from schemas import IncidentSignal
from streams import owner
from streams.policy.decide import decide
from streams.retention import offer_expiry

if TYPE_CHECKING:
    from streams.context import WorkerContext

log = get_logger("offers")


def register(ctx: WorkerContext, signals: Any, offers: Any) -> None:
    ledger = ctx.ledger("offers-made")
    metrics = ctx.metrics
    topic = offers.get_topic_name()
    source = signals.get_topic_name()

    def make_offers(signal: IncidentSignal) -> None:
        policy = ctx.policy.current
        decision = decide(signal, policy, ctx.clock(), ctx.key, ctx.directory)
        for role, reason in decision.suppressed:
            metrics.suppressed.labels(role.value, reason.value).inc()
            log.info("no offer", kind=role.value, reason=reason.value)
        for offer in decision.offers:
            if offer.offer_id in ledger:
                metrics.duplicates.labels("offer").inc()
                log.info("offer already made, not made again", offer_id=offer.offer_id)
                continue
            # the outbox sends the offer before the ledger entry that vouches for it: if
            # the worker stops between them, the signal's replay offers again (dispatch
            # drops the repeat) instead of the ledger hiding an offer never sent
            ctx.outbox.put_model(topic, offer.person, offer, signal.incident)
            ledger.put(offer.offer_id, offer.created_at.isoformat(), offer_expiry(offer, policy))
            metrics.offers.labels(offer.role.value).inc()
            log.info("offer made", offer_id=offer.offer_id, kind=offer.role.value)

    @ctx.app.agent(signals, name="offers")
    async def offers_agent(stream: Any) -> None:
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            metrics.source_last_report.set_to_current_time()
            await ctx.directory.ready.wait()
            for event in events:
                signal: IncidentSignal = event.value
                with (
                    owner.owned_by(event.message.partition),
                    tracing.step(
                        "offers",
                        tracing.consumed(source, incident=signal.incident),
                        headers=event.message.headers,
                        kind=SpanKind.CONSUMER,
                    ),
                ):
                    make_offers(signal)
            await ctx.outbox.flush()
