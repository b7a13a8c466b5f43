"""Topic names, and creating them with the partition counts, policies and retention they need.

Every topic forgets (GDPR art. 5(1)(e)). Raw reports, which may hold patient data, are kept
for hours; what was derived from them for as long as the step after it may need to read it
again; compacted topics hold current state only, and their tombstones go after a day.
:data:`RETENTION` says how long and why; docs/privacy.md and docs/operations.md repeat it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from runtime.kafka import confluent_config
from runtime.settings import KafkaSettings
from schemas.codes import Channel

DLQ_SUFFIX: Final = ".dlq"
DAY: Final = timedelta(days=1)

RETENTION: Final[dict[str, tuple[timedelta, str]]] = {
    "incident-signals": (
        14 * DAY,
        "a signal older than the policy's max_report_age (14 days by default) makes no offer",
    ),
    "support-offers": (
        45 * DAY,
        "the answers endpoint honours a link while its offer is known (links live 30 days); "
        "as long as the worker remembers offers (the policy's retention.offers, 45 days)",
    ),
    "support-responses": (45 * DAY, "as long as the offers they answer"),
    "notifications": (14 * DAY, "a channel may be down this long and lose nothing"),
    "notification-receipts": (
        21 * DAY,
        "longer than the notifications: a sink must know every notification it delivered",
    ),
    "dead-letters": (30 * DAY, "a month to look into refusals and re-drive them"),
    "supporter-assignments": (
        14 * DAY,
        "a hand-off counts against its supporter's capacity for 14 days, then it is forgotten",
    ),
}
"""Time-based retention of each kind of topic, and why it is that long."""

TOMBSTONES_KEPT: Final = DAY
"""How long a compacted topic keeps a tombstone (``delete.retention.ms``): enough for every
reader to see a leaver go."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    compacted: bool = False
    retention: timedelta | None = None
    config: Mapping[str, str] = field(default_factory=dict)

    def topic_config(self) -> dict[str, str]:
        """The settings ``topics create`` gives the topic."""
        if self.compacted:
            settings = {
                "cleanup.policy": "compact",
                "delete.retention.ms": milliseconds(TOMBSTONES_KEPT),
            }
        else:
            settings = {"cleanup.policy": "delete"}
        if self.retention is not None:
            settings["retention.ms"] = milliseconds(self.retention)
        return {**settings, **self.config}


def milliseconds(period: timedelta) -> str:
    return str(int(period.total_seconds() * 1000))


@dataclass(frozen=True)
class Topics:
    """Every topic of the bridge, with the deployment's prefix applied."""

    prefix: str = ""
    reports_retention: timedelta = timedelta(hours=72)

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

    @property
    def supporter_assignments(self) -> str:
        """Hand-offs keyed by supporter pseudonym, for the partition that counts their load."""
        return self._name("supporter-assignments")

    @property
    def supporter_load(self) -> str:
        """Each supporter's recent hand-offs, keyed by supporter pseudonym (compacted)."""
        return self._name("supporter-load")

    def notifications(self, channel: Channel) -> str:
        return self._name(f"notifications.{channel.value}")

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}{DLQ_SUFFIX}"

    @classmethod
    def of(cls, kafka: KafkaSettings) -> Topics:
        return cls(kafka.topic_prefix, timedelta(hours=kafka.reports_retention_hours))

    def specs(self) -> list[TopicSpec]:
        def kept(kind: str) -> timedelta:
            return RETENTION[kind][0]

        notifications = [self.notifications(channel) for channel in Channel]
        streams = [
            TopicSpec(self.incident_reports, retention=self.reports_retention),
            TopicSpec(self.incident_signals, retention=kept("incident-signals")),
            TopicSpec(self.support_offers, retention=kept("support-offers")),
            TopicSpec(self.support_responses, retention=kept("support-responses")),
            TopicSpec(self.notification_receipts, retention=kept("notification-receipts")),
            TopicSpec(self.supporter_assignments, retention=kept("supporter-assignments")),
            *(TopicSpec(name, retention=kept("notifications")) for name in notifications),
        ]
        dead_letters = [
            TopicSpec(self.dlq(topic), retention=kept("dead-letters"))
            for topic in (
                self.incident_reports,
                self.incident_signals,
                self.support_offers,
                self.staff_directory,
                *notifications,
            )
        ]
        tables = [
            TopicSpec(name, compacted=True)
            for name in (
                self.staff_directory,
                self.supporters,
                self.evaluation,
                self.supporter_load,
            )
        ]
        return streams + dead_letters + tables


def ensure_topics(settings: KafkaSettings, specs: list[TopicSpec], timeout: float = 30.0) -> int:
    """Create the topics that do not exist yet; returns how many were created."""
    admin = AdminClient(confluent_config(settings))
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [
        NewTopic(
            spec.name,
            num_partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            config=spec.topic_config(),
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


@dataclass(frozen=True)
class Difference:
    """One way a topic on the cluster differs from its spec."""

    topic: str
    setting: str  # "exists", "partitions" or a topic config key
    wanted: str
    found: str

    def __str__(self) -> str:
        if self.setting == "exists":
            return f"{self.topic}: missing (`peer-support topics create` creates it)"
        return f"{self.topic}: {self.setting} is {self.found}, should be {self.wanted}"


def _current_configs(
    admin: AdminClient, names: list[str], timeout: float
) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    described = admin.describe_configs([ConfigResource("topic", name) for name in names])
    return {
        resource.name: {key: entry.value for key, entry in future.result(timeout).items()}
        for resource, future in described.items()
    }


def topic_differences(
    settings: KafkaSettings, specs: list[TopicSpec], timeout: float = 30.0
) -> list[Difference]:
    """What ``topics create`` would change, and what it cannot (fewer partitions than
    PSB_KAFKA_PARTITIONS): for clusters whose topics an operator or a GitOps tool owns."""
    admin = AdminClient(confluent_config(settings))
    metadata = admin.list_topics(timeout=timeout).topics
    present = [spec for spec in specs if spec.name in metadata]
    current = _current_configs(admin, [spec.name for spec in present], timeout)
    differences = [
        Difference(s.name, "exists", "yes", "no") for s in specs if s.name not in metadata
    ]
    for spec in present:
        partitions = len(metadata[spec.name].partitions)
        if partitions != settings.partitions:
            differences.append(
                Difference(spec.name, "partitions", str(settings.partitions), str(partitions))
            )
        differences += [
            Difference(spec.name, key, wanted, current[spec.name].get(key) or "unset")
            for key, wanted in spec.topic_config().items()
            if current[spec.name].get(key) != wanted
        ]
    return differences


def apply_topic_settings(
    settings: KafkaSettings, specs: list[TopicSpec], timeout: float = 30.0
) -> int:
    """Give topics that already exist the settings their spec says (a retention changed in
    values, or topics made before retention was set); returns how many were changed.
    Only what differs is altered, one key at a time, so other settings stay as they are."""
    admin = AdminClient(confluent_config(settings))
    existing = set(admin.list_topics(timeout=timeout).topics)
    present = [spec for spec in specs if spec.name in existing]
    current = _current_configs(admin, [spec.name for spec in present], timeout)
    changes = []
    for spec in present:
        wanted = spec.topic_config()
        differing = {k: v for k, v in wanted.items() if current[spec.name].get(k) != v}
        if differing:
            entries = [
                ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                for k, v in differing.items()
            ]
            changes.append(ConfigResource("topic", spec.name, incremental_configs=entries))
    if changes:
        for future in admin.incremental_alter_configs(changes).values():
            future.result(timeout=timeout)
    return len(changes)
