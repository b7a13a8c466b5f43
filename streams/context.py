"""What the agents share: the Faust app, topics, views, metrics and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import faust

from runtime.clock import utc_now
from runtime.settings import BoundarySettings, KafkaSettings, WorkerSettings
from runtime.topics import Topics
from schemas import Channel, StaffProfile
from streams.metrics import WorkerMetrics
from streams.views import ReplicatedView


@dataclass
class WorkerContext:
    app: faust.App
    kafka: KafkaSettings
    boundary: BoundarySettings
    worker: WorkerSettings
    topics: Topics
    directory: ReplicatedView[StaffProfile]
    metrics: WorkerMetrics
    enabled_channels: frozenset[Channel]
    clock: Callable[[], datetime] = utc_now
    faust_topics: dict[str, Any] = field(default_factory=dict)

    @property
    def batch_wait_s(self) -> float:
        return self.worker.batch_wait_ms / 1000
