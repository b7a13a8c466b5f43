"""Agent ``responses``: each answer on ``support-responses`` is handed, in this order, to
dispatch (an answer cancels the reminder; "remind me later" sets one), to the hand-offs (an
accept reaches a supporter or the scheme's coordinator) and to the evaluation figures.

One agent reads the topic, so the order is fixed and each answer is decoded once. Agent
names are not part of what Kafka keeps: committed offsets belong to the worker's consumer
group and the topic partition, and Faust commits a record once every agent reading it is
done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.logging import get_logger
from schemas import Answer, SupportResponse
from streams import owner
from streams.agents.dispatch import Dispatcher
from streams.agents.handoff import Handoffs
from streams.evaluation.recorder import Recorder

if TYPE_CHECKING:
    from streams.context import WorkerContext

log = get_logger("answers")


async def fan_out(
    response: SupportResponse,
    dispatcher: Dispatcher,
    handoffs: Handoffs,
    evaluation: Recorder | None,
) -> None:
    """One answer, to every part that reads answers. An accept waits until the directory
    and the supporters are loaded, so one read at start-up is not handed to the coordinator
    for want of a supporter."""
    dispatcher.answered(response)
    if response.answer is Answer.ACCEPT:
        await handoffs.directory.ready.wait()
        await handoffs.supporters.ready.wait()
        handoffs.accepted(response)
    if evaluation is None:
        return
    try:
        evaluation.answered(response)
    except Exception as exc:  # figures must never hold up the answers behind it
        log.error("evaluation failed", offer_id=response.offer_id, exc_info=exc)


def register(
    ctx: WorkerContext,
    responses: Any,
    dispatcher: Dispatcher,
    handoffs: Handoffs,
    evaluation: Recorder | None,
) -> None:
    @ctx.app.agent(responses, name="responses")
    async def responses_agent(stream: Any) -> None:
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            for event in events:
                with owner.owned_by(event.message.partition):
                    await fan_out(event.value, dispatcher, handoffs, evaluation)
            await ctx.outbox.flush()
