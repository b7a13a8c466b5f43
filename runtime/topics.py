"""Topic names, and creating them with the partition counts and policies they need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from runtime.kafka import confluent_config
from runtime.settings import KafkaSettings
from schemas.codes import Channel

DLQ_SUFFIX: Final = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    compacted: bool = False


@dataclass(frozen=True)
class Topics:
    """Every topic of the bridge, with the deployment's prefix applied."""

    prefix: str = ""

    def _name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def incident_reports(self) -> str:
        return self._name("incident-reports")

    @property
    def incident_signals(self) -> str:
        return self._name("incident-signals")

    @property
    def support_offers(self) -> str:
        return self._name("support-offers")

    @property
    def staff_directory(self) -> str:
        return self._name("staff-directory")

    @property
    def supporters(self) -> str:
        return self._name("supporters")

    @property
    def notification_receipts(self) -> str:
        return self._name("notification-receipts")

    @property
    def support_responses(self) -> str:
        return self._name("support-responses")

    @property
    def evaluation(self) -> str:
        """Anonymous evaluation figures, one record per cell and partition (compacted)."""
        return self._name("evaluation")

    def notifications(self, channel: Channel) -> str:
        return self._name(f"notifications.{channel.value}")

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}{DLQ_SUFFIX}"

    def specs(self) -> list[TopicSpec]:
        streams = [
            self.incident_reports,
            self.incident_signals,
            self.support_offers,
            self.notification_receipts,
            self.support_responses,
            *(self.notifications(channel) for channel in Channel),
        ]
        dead_letters = [
            self.dlq(topic)
            for topic in (
                self.incident_reports,
                self.incident_signals,
                self.support_offers,
                self.staff_directory,
                *(self.notifications(channel) for channel in Channel),
            )
        ]
        tables = [self.staff_directory, self.supporters, self.evaluation]
        return [TopicSpec(name) for name in streams + dead_letters] + [
            TopicSpec(name, compacted=True) for name in tables
        ]


def ensure_topics(settings: KafkaSettings, specs: list[TopicSpec], timeout: float = 30.0) -> int:
    """Create the topics that do not exist yet; returns how many were created."""
    admin = AdminClient(confluent_config(settings))
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [
        NewTopic(
            spec.name,
            num_partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            config={"cleanup.policy": "compact"} if spec.compacted else {},
        )
        for spec in specs
        if spec.name not in existing
    ]
    if not missing:
        return 0
    created = 0
    for future in admin.create_topics(missing, operation_timeout=timeout).values():
        try:
            future.result(timeout=timeout)
            created += 1
        except Exception as exc:  # an already-existing topic is fine: someone raced us
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return created
