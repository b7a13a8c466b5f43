"""Which topics the broker holds: the dead-letter commands look for ``.dlq`` topics among
them (the records are read with :func:`runtime.topic_reader.read_to_end`)."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from runtime.kafka import confluent_config
from runtime.settings import KafkaSettings


def existing_topics(kafka: KafkaSettings) -> set[str]:
    metadata = AdminClient(confluent_config(kafka)).list_topics(timeout=kafka.connect_timeout_s)
    return set(metadata.topics)
