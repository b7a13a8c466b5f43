"""What the agents share: the Faust app, topics, views, metrics and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import faust

from runtime.clock import utc_now
from runtime.settings import BoundarySettings, KafkaSettings, WorkerSettings
from runtime.topics import Topics
from schemas import Channel, Notification, StaffProfile, SupporterProfile
from streams.ledger import Ledger
from streams.metrics import WorkerMetrics
from streams.outbox import Outbox
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
    outbox: Outbox
    clock: Callable[[], datetime] = utc_now

    def send_notification(self, notification: Notification) -> None:
        """Into the outbox, for the topic of the notification's channel."""
        topic = self.topics.notifications(notification.channel)
        self.outbox.put_model(topic, notification.notification_id, notification)

    def ledger(self, name: str, *, work: bool = False) -> Ledger:
        """A table of this worker, as a ledger writing through the outbox; ``work``: it holds
        work still to do (see :meth:`Outbox.work_table`)."""
        table = self.app.Table(name, default=None, key_type=str, value_type=str)
        if work:
            self.outbox.work_table(table)
        return Ledger(table, self.outbox)

    @property
    def batch_wait_s(self) -> float:
        return self.worker.batch_wait_ms / 1000
