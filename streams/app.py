"""Builds the Faust app: topics, the directory view, the agents and the web routes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

import faust

from runtime import tracing
from runtime.clock import utc_now
from runtime.kafka import faust_broker_options
from runtime.logging import get_logger
from runtime.policy_holder import PolicyHolder
from runtime.replicated_view import ReplicatedView
from runtime.settings import (
    IN_FLIGHT_RECORDS,
    BoundarySettings,
    KafkaSettings,
    PolicySettings,
    WorkerSettings,
)
from runtime.staff_view import StaffView
from runtime.topics import Topics
from runtime.vocabulary import InstallationVocabulary
from schemas import (
    Channel,
    IncidentSignal,
    SupporterProfile,
    SupportOffer,
    SupportResponse,
)
from schemas.boundary import pseudonymize_staff
from streams import forget, gc_freeze, retention, web
from streams.agents import answers, dispatch, handoff, load, minimize, offers
from streams.codec import register_contracts, serializer_for
from streams.context import WorkerContext
from streams.dead_letters import DeadLetteringTopic
from streams.evaluation import recorder, retire
from streams.evaluation import web as evaluation_web
from streams.evaluation.settings import EvaluationSettings
from streams.faust_fixes import App
from streams.metrics import WorkerMetrics

log = get_logger("app")
OUTBOX_LEFTOVERS_S = 0.05
"""How soon after a put at rest the outbox is sent, if no agent's flush took it."""


def _contract_topic(app: faust.App, name: str, model: type[Any]) -> Any:
    return app.topic(
        name, key_type=str, key_serializer="raw", value_serializer=serializer_for(model)
    )


def create_app(
    kafka: KafkaSettings,
    boundary: BoundarySettings,
    worker: WorkerSettings,
    policy: PolicySettings | None = None,
    *,
    enabled_channels: frozenset[Channel] = frozenset(Channel),
    clock: Callable[[], datetime] = utc_now,
    evaluation: EvaluationSettings | None = None,
) -> WorkerContext:
    register_contracts()
    tracing.setup("peer-support-worker")  # one app per worker process
    topics = Topics(kafka.topic_prefix)
    app = App(
        worker.app_id,
        fetch_wait_ms=worker.fetch_wait_ms,
        rewind_records=worker.rewind_records,
        embedded_broker_quirks=kafka.embedded_broker_quirks,
        stream_processing_timeout=worker.stall_report_s,
        broker_max_poll_records=IN_FLIGHT_RECORDS,
        stream_buffer_maxsize=IN_FLIGHT_RECORDS,
        **faust_broker_options(kafka),
        autodiscover=False,
        store="memory://",
        datadir=str(worker.data_dir),
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        topic_disable_leader=True,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        web_host=worker.web_host,
        web_port=worker.web_port,
        web_in_thread=False,
        # Faust's own views serve table contents, the cluster's layout and statistics to
        # anyone on the port; the worker serves only the routes in streams.web
        web_tables_enabled=False,
        web_router_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
        table_standby_replicas=0,
        Topic=DeadLetteringTopic,
    )
    policy_settings = policy or PolicySettings()
    outbox = app.outbox
    key = boundary.key()
    directory = StaffView(topics.staff_directory, kafka, key)
    holder = PolicyHolder(policy_settings.file)
    supporters: ReplicatedView[SupporterProfile] = ReplicatedView(
        topics.supporters, SupporterProfile, kafka, index=partial(pseudonymize_staff, key)
    )
    ctx = WorkerContext(
        app=app,
        kafka=kafka,
        boundary=boundary,
        worker=worker,
        topics=topics,
        key=key,
        directory=directory,
        supporters=supporters,
        policy=holder,
        vocabulary=InstallationVocabulary(holder, boundary.sources, directory.units),
        metrics=WorkerMetrics(),
        enabled_channels=enabled_channels,
        outbox=outbox,
        clock=clock,
    )
    reports = app.topic(
        topics.incident_reports, key_type=bytes, value_type=bytes, value_serializer="raw"
    )
    signals = _contract_topic(app, topics.incident_signals, IncidentSignal)
    support_offers = _contract_topic(app, topics.support_offers, SupportOffer)
    responses = _contract_topic(app, topics.support_responses, SupportResponse)
    minimize.register(ctx, reports, signals)
    offers.register(ctx, signals, support_offers)
    figures = recorder.register(ctx)
    retire.register(ctx, figures.cells)
    dispatcher = dispatch.register(ctx, support_offers, figures)
    loads, pool = load.register(ctx)
    handoffs = handoff.register(ctx, pool)
    answers.register(ctx, responses, dispatcher, handoffs, figures)
    forget.register(ctx, dispatcher, handoffs, loads)
    evaluation_web.register(ctx, evaluation or EvaluationSettings())
    retention.register(ctx)
    web.register(ctx)

    # the views need no table: their load overlaps the tables' restore
    @app.task_at_start
    async def keep_directory() -> None:
        await directory.run()

    @app.task  # type: ignore[untyped-decorator]
    async def freeze_startup_objects() -> None:
        await directory.ready.wait()
        await app.tables.recovery.completed.wait()  # type: ignore[attr-defined]  # TableManager's, untyped on the interface
        log.info("startup objects frozen", count=gc_freeze.freeze_what_startup_built())

    @app.task_at_start
    async def keep_supporters() -> None:
        await supporters.run()

    @app.task  # type: ignore[untyped-decorator]
    async def flush_outbox() -> None:
        """Sends what callbacks that cannot wait put in the outbox (forgetting a person),
        their changelogs included: at rest no event comes to make a commit that would.
        Sleeps until something is put, then leaves the agents' own flush a moment to take
        it (a flush waits while a commit settles)."""
        while True:
            await ctx.outbox.wait_put()
            await asyncio.sleep(OUTBOX_LEFTOVERS_S)
            if ctx.outbox.holds_unsent():
                await ctx.outbox.settle()

    @app.timer(interval=policy_settings.reload_interval_s)  # type: ignore[untyped-decorator]
    async def reload_policy() -> None:
        if ctx.policy.reload_if_changed():
            ctx.metrics.policy_info.clear()
        ctx.metrics.policy_info.labels(ctx.policy.current.version).set(1)

    return ctx
