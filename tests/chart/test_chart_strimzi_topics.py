"""For clusters the Strimzi operator runs: the chart renders one KafkaTopic per topic of the
bridge, with exactly the names and settings `topics create` gives them (both come from
runtime/topics.py), and leaves topic creation to the operator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from runtime.topics import Topics
from runtime.topics_manifest import render as manifest_text
from tests.support.chart import CHART, deep_merge, plaintext_kafka, render, render_error

STRIMZI = {
    "kafka": {
        "topicPrefix": "hf-vest.",
        "partitions": 3,
        "replicationFactor": 3,
        "reportsRetentionHours": 24,
        "strimzi": {"enabled": True, "clusterName": "my-cluster"},
    }
}


def kafka_topics(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["spec"]["topicName"]: o for o in objects if o["kind"] == "KafkaTopic"}


def test_the_chart_reads_the_topic_list_generated_from_the_code() -> None:
    shipped = (CHART / "files" / "topics.yaml").read_text()
    assert shipped == manifest_text(), "run `make chart-docs`: runtime/topics.py changed"


def test_every_topic_is_a_kafka_topic_with_the_settings_topics_create_gives_it() -> None:
    objects = render(plaintext_kafka(STRIMZI))
    rendered = kafka_topics(objects)
    specs = Topics("hf-vest.", timedelta(hours=24)).specs()
    assert set(rendered) == {spec.name for spec in specs}
    for spec in specs:
        topic = rendered[spec.name]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "my-cluster"
        assert (topic["spec"]["partitions"], topic["spec"]["replicas"]) == (3, 3)
        assert topic["spec"]["config"] == spec.topic_config(), spec.name
    assert rendered["hf-vest.incident-reports"]["spec"]["config"]["retention.ms"] == "86400000"
    assert not [o for o in objects if o["kind"] == "Job"], "the operator creates the topics"


def test_without_strimzi_the_topics_job_creates_them_and_no_kafka_topic_is_rendered() -> None:
    objects = render(plaintext_kafka())
    assert not kafka_topics(objects)
    assert [o for o in objects if o["kind"] == "Job"]


def test_strimzi_without_a_cluster_name_is_refused_naming_the_value() -> None:
    values = deep_merge(plaintext_kafka(STRIMZI), {"kafka": {"strimzi": {"clusterName": ""}}})
    assert "kafka.strimzi.clusterName" in render_error(values)
