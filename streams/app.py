"""Builds the Faust app: topics, the directory view, the agents and the web routes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

import faust

from runtime.clock import utc_now
from runtime.kafka import faust_broker_options
from runtime.logging import get_logger
from runtime.policy_holder import PolicyHolder
from runtime.replicated_view import ReplicatedView
from runtime.settings import BoundarySettings, KafkaSettings, PolicySettings, WorkerSettings
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
from streams import forget, heap, retention, web
from streams.agents import dispatch, handoff, minimize, offers
from streams.batching import LingeringStream
from streams.codec import register_contracts, serializer_for
from streams.context import WorkerContext
from streams.dead_letters import DeadLetteringTopic
from streams.evaluation import recorder
from streams.evaluation import web as evaluation_web
from streams.evaluation.settings import EvaluationSettings
from streams.metrics import WorkerMetrics
from streams.outbox import FLUSH_INTERVAL_S, Outbox
from streams.transport import App

log = get_logger("app")

IN_FLIGHT_RECORDS = 500
"""Records of a partition fetched at once, and queued for its stream: with a batch, what
can be in flight when a rebalance starts, so what ``rewind_records`` must cover."""


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
    topics = Topics(kafka.topic_prefix)
    app = App(
        worker.app_id,
        fetch_wait_ms=worker.fetch_wait_ms,
        rewind_records=worker.rewind_records,
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
        # With the memory store nothing is persisted, so Faust's check only compares an
        # offset this process noted before the rebalance with the broker's high watermark.
        # In a rolling update on the embedded broker it found 239 > 238 and crashed the
        # worker, whose tables held that partition's data all along (Tansu 0.6 reports the
        # watermark as the last record batch's first offset + 1; see streams.outbox).
        recovery_consistency_check=False,
        Topic=DeadLetteringTopic,
        Stream=LingeringStream,
    )
    policy_settings = policy or PolicySettings()
    outbox = app.outbox = Outbox(app)  # the producer settles it before each commit
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
    dispatcher = dispatch.register(ctx, support_offers, responses)
    handoffs = handoff.register(ctx, responses)
    forget.register(ctx, dispatcher, handoffs)
    recorder.register(ctx, responses, dispatcher.on_sent)
    evaluation_web.register(ctx, evaluation or EvaluationSettings())
    retention.register(ctx)
    web.register(ctx)

    @app.task  # type: ignore[untyped-decorator]  # faust.App.task is untyped
    async def keep_directory() -> None:
        await directory.run()

    @app.task  # type: ignore[untyped-decorator]
    async def freeze_startup_objects() -> None:
        await directory.ready.wait()
        await app.tables.recovery.completed.wait()  # type: ignore[attr-defined]  # TableManager's, untyped on the interface
        log.info("startup objects frozen", count=heap.freeze_what_startup_built())

    @app.task  # type: ignore[untyped-decorator]
    async def keep_supporters() -> None:
        await supporters.run()

    @app.timer(interval=FLUSH_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def flush_outbox() -> None:
        """Sends what callbacks that cannot wait put in the outbox (forgetting a person),
        their changelogs included: at rest no event comes to make a commit that would.
        Only then: a flush waits while a commit settles, and a timer kept waiting on an
        empty outbox would only fill the log with Faust's "timer is overlapping"."""
        if ctx.outbox.holds_unsent():
            await ctx.outbox.settle()

    @app.timer(interval=policy_settings.reload_interval_s)  # type: ignore[untyped-decorator]
    async def reload_policy() -> None:
        if ctx.policy.reload_if_changed():
            ctx.metrics.policy_info.clear()
        ctx.metrics.policy_info.labels(ctx.policy.current.version).set(1)

    return ctx
