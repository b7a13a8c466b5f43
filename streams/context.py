"""What the agents share: the Faust app, topics, views, metrics and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import faust

from runtime.clock import utc_now
from runtime.settings import BoundarySettings, KafkaSettings, WorkerSettings
from runtime.topics import Topics
from schemas import Channel, StaffProfile, SupporterProfile
from streams.ledger import Ledger
from streams.metrics import WorkerMetrics
from streams.policy.holder import PolicyHolder
from streams.views import ReplicatedView


@dataclass
class WorkerContext:
    app: faust.App
    kafka: KafkaSettings
    boundary: BoundarySettings
    worker: WorkerSettings
    topics: Topics
    directory: ReplicatedView[StaffProfile]
    supporters: ReplicatedView[SupporterProfile]
    policy: PolicyHolder
    metrics: WorkerMetrics
    enabled_channels: frozenset[Channel]
    clock: Callable[[], datetime] = utc_now

    def ledger(self, name: str) -> Ledger:
        """A Faust table of this worker holding JSON strings by string key."""
        return Ledger(self.app.Table(name, default=None, key_type=str, value_type=str))

    @property
    def batch_wait_s(self) -> float:
        return self.worker.batch_wait_ms / 1000
