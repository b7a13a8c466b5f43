"""Agent ``minimize``: ``incident-reports`` → ``incident-signals``, or the dead-letter topic.

The only place raw reports are read in the worker. Records arrive as bytes (no decoding by
Faust), go through the boundary, and only the resulting signal is produced. It waits for the
staff directory: a unit code crosses the boundary only if someone in the directory belongs
to it (or the policy declares it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind

from runtime import tracing
from runtime.logging import get_logger
from schemas import IncidentSignal, Reason
from schemas.boundary import BoundaryError, Projection, project
from streams.dead_letters import dead_letter_for, from_boundary_error, send_dead_letter

if TYPE_CHECKING:
    from streams.context import WorkerContext

log = get_logger("minimize")


def _minimize_record(ctx: WorkerContext, event: Any) -> Projection:
    raw = event.value
    if not raw:
        raise BoundaryError(Reason.EMPTY)
    return project(
        raw,
        ctx.key,
        ctx.vocabulary.current(),
        fhir_source_system=ctx.boundary.fhir_source_system,
        received_at=datetime.fromtimestamp(event.message.timestamp, UTC),
        max_bytes=ctx.boundary.max_report_bytes,
    )


def register(ctx: WorkerContext, reports: Any, signals: Any) -> None:
    metrics = ctx.metrics
    topic = signals.get_topic_name()
    source = reports.get_topic_name()

    async def handle(event: Any) -> None:
        try:
            projection = _minimize_record(ctx, event)
        except BoundaryError as error:
            letter = from_boundary_error(event.message, error)
        except Exception as exc:  # a bug must not stop the stream either
            log.error("report could not be processed", exc_info=exc)
            letter = dead_letter_for(event.message, Reason.UNPROCESSABLE)
        else:
            signal: IncidentSignal = projection.signal
            source_format = signal.source_format.value
            tracing.annotate({"psb.incident": signal.incident, "psb.source_format": source_format})
            ctx.outbox.put_model(topic, signal.incident, signal, signal.incident)
            metrics.reports.labels("signal").inc()
            for drop in projection.dropped:
                metrics.dropped.labels(drop.field.value, drop.reason.value).inc()
            log.info("signal minimized", incident=signal.incident, format=source_format)
            return
        tracing.annotate({"psb.reason": letter.reason.value})
        send_dead_letter(ctx.outbox, letter)
        metrics.reports.labels("dead-lettered").inc()
        metrics.dead_letters.labels(letter.reason.value).inc()

    @ctx.app.agent(reports, name="minimize")
    async def minimize_agent(stream: Any) -> None:
        async for events in stream.take_events(ctx.worker.batch_size, within=ctx.batch_wait_s):
            metrics.source_last_report.set_to_current_time()
            await ctx.directory.ready.wait()
            for event in events:
                with tracing.step(
                    "minimize",
                    tracing.consumed(source),
                    headers=event.message.headers,
                    kind=SpanKind.CONSUMER,
                ):
                    await handle(event)
            await ctx.outbox.flush()
