"""What the agents share: the Faust app, topics, views, metrics and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload

import faust

from runtime.clock import utc_now
from runtime.policy_holder import PolicyHolder
from runtime.replicated_view import ReplicatedView
from runtime.settings import BoundarySettings, KafkaSettings, WorkerSettings
from runtime.staff_view import StaffView
from runtime.topics import TOMBSTONES_KEPT, Topics, milliseconds
from runtime.vocabulary import InstallationVocabulary
from schemas import Channel, SupporterProfile
from schemas.boundary import PseudonymKey
from streams.faust_fixes import Outbox
from streams.ledger import TEXT, Codec, Ledger, V
from streams.metrics import WorkerMetrics


@dataclass
class WorkerContext:
    app: faust.App
    kafka: KafkaSettings
    boundary: BoundarySettings
    worker: WorkerSettings
    topics: Topics
    key: PseudonymKey
    directory: StaffView
    supporters: ReplicatedView[SupporterProfile]
    policy: PolicyHolder
    vocabulary: InstallationVocabulary
    metrics: WorkerMetrics
    enabled_channels: frozenset[Channel]
    outbox: Outbox
    clock: Callable[[], datetime] = utc_now
    ledgers: list[Ledger[Any]] = field(default_factory=list)
    views: list[ReplicatedView[Any]] = field(default_factory=list)
    """Views an agent or a page keeps beside ``directory`` and ``supporters``."""

    def __post_init__(self) -> None:
        self.policy.on_refused = self.metrics.policy_reload_refused.inc

    @overload
    def ledger(
        self,
        name: str,
        *,
        work: bool = False,
        on_expire: Callable[[str, str], None] | None = None,
    ) -> Ledger[str]: ...

    @overload
    def ledger(
        self,
        name: str,
        codec: Codec[V],
        *,
        work: bool = False,
        on_expire: Callable[[str, V], None] | None = None,
    ) -> Ledger[V]: ...

    def ledger(
        self,
        name: str,
        codec: Codec[Any] = TEXT,
        *,
        work: bool = False,
        on_expire: Callable[[str, Any], None] | None = None,
    ) -> Ledger[Any]:
        """A table of this worker, as a ledger writing through the outbox, its values typed
        by ``codec`` (text by default); ``work``: it holds work still to do (see
        :meth:`Outbox.work_table`). Every ledger is swept by :mod:`streams.retention`."""
        table = self.app.Table(
            name,
            default=None,
            key_type=str,
            value_type=str,
            # compacted by Faust; what the ledger forgets is a tombstone, gone after a day
            extra_topic_configs={"delete.retention.ms": milliseconds(TOMBSTONES_KEPT)},
        )
        if work:
            self.outbox.work_table(table)
        ledger = Ledger(table, self.outbox, codec, on_expire)
        self.ledgers.append(ledger)
        return ledger

    @property
    def batch_wait_s(self) -> float:
        return self.worker.batch_wait_ms / 1000
