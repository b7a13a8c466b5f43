"""Wrong values stop `helm install` with a message that names the key: the chart's
values.schema.json for shapes and types, its validateValues helper for combinations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import chart

BAD_VALUES: list[tuple[str, dict[str, Any], str]] = [
    # --- values.schema.json
    (
        "bootstrap servers without a port",
        {"kafka": {"bootstrapServers": "kafka"}},
        "at '/kafka/bootstrapServers': 'kafka' does not match pattern",
    ),
    (
        "empty bootstrap servers",
        {"kafka": {"bootstrapServers": ""}},
        "at '/kafka/bootstrapServers': minLength: got 0, want 1",
    ),
    (
        "an unsupported SASL mechanism",
        {"kafka": {"sasl": {"mechanism": "GSSAPI"}}},
        "at '/kafka/sasl/mechanism': value must be one of 'PLAIN', 'SCRAM-SHA-256', "
        "'SCRAM-SHA-512'",
    ),
    (
        "topics without partitions",
        {"kafka": {"partitions": 0}},
        "at '/kafka/partitions': minimum: got 0, want 1",
    ),
    (
        "a topic prefix with a slash",
        {"kafka": {"topicPrefix": "hf/vest"}},
        "at '/kafka/topicPrefix': 'hf/vest' does not match pattern",
    ),
    (
        "replicas as text",
        {"worker": {"replicaCount": "two"}},
        "at '/worker/replicaCount': got string, want integer",
    ),
    (
        "a misspelt key",
        {"worker": {"replcaCount": 2}},
        "at '/worker': additional properties 'replcaCount' not allowed",
    ),
    (
        "a misspelt top-level block",
        {"kafak": {}},
        "additional properties 'kafak' not allowed",
    ),
    (
        "a setting that is no PSB_ variable",
        {"worker": {"config": {"batch_size": 5}}},
        "at '/worker/config': additional properties 'batch_size' not allowed",
    ),
    (
        "a setting with a nested value",
        {"config": {"PSB_LOG_LEVEL": {"level": "debug"}}},
        "at '/config/PSB_LOG_LEVEL': got object, want",
    ),
    (
        "a secret reference without a key",
        {
            "sinks": {
                "channels": {"email": {"secretEnv": {"PSB_SMTP_OAUTH_TOKEN": {"name": "smtp"}}}}
            }
        },
        "at '/sinks/channels/email/secretEnv/PSB_SMTP_OAUTH_TOKEN': missing property 'key'",
    ),
    (
        "an unknown channel",
        {"sinks": {"channels": {"fax": {"enabled": True}}}},
        "at '/sinks/channels': additional properties 'fax' not allowed",
    ),
    (
        "a worker routing to an unknown channel",
        {"worker": {"channels": ["fax"]}},
        "at '/worker/channels/0': value must be one of 'email', 'sms', 'teams', 'slack', 'webhook'",
    ),
    (
        "running as root",
        {"podSecurityContext": {"runAsUser": 0}},
        "at '/podSecurityContext/runAsUser': minimum: got 0, want 1",
    ),
    (
        "a writable root filesystem",
        {"containerSecurityContext": {"readOnlyRootFilesystem": False}},
        "at '/containerSecurityContext/readOnlyRootFilesystem': value must be true",
    ),
    (
        "privilege escalation",
        {"containerSecurityContext": {"allowPrivilegeEscalation": True}},
        "at '/containerSecurityContext/allowPrivilegeEscalation': value must be false",
    ),
    (
        "an added capability",
        {"containerSecurityContext": {"capabilities": {"add": ["NET_ADMIN"]}}},
        "at '/containerSecurityContext/capabilities/add': maxItems: got 1, want 0",
    ),
    (
        "no pseudonym key Secret",
        {"pseudonymKey": {"existingSecret": ""}},
        "at '/pseudonymKey/existingSecret'",
    ),
    (
        "an image digest that is no digest",
        {"image": {"digest": "latest"}},
        "at '/image/digest': 'latest' does not match pattern",
    ),
    (
        "a service type that does not exist",
        {"ingest": {"service": {"type": "Public"}}},
        "at '/ingest/service/type': value must be one of 'ClusterIP', 'NodePort', 'LoadBalancer'",
    ),
    (
        "a relative mount path",
        {"policy": {"mountPath": "etc/policy"}},
        "at '/policy/mountPath': 'etc/policy' does not match pattern",
    ),
    (
        "raw reports kept for no time",
        {"kafka": {"reportsRetentionHours": 0}},
        "at '/kafka/reportsRetentionHours': minimum: got 0, want 1",
    ),
    (
        "raw reports kept longer than the code allows",
        {"kafka": {"reportsRetentionHours": 721}},
        "at '/kafka/reportsRetentionHours': maximum: got 721, want 720",
    ),
    (
        "a metrics peer that names nothing",
        {"networkPolicy": {"metricsFrom": [{}]}},
        "at '/networkPolicy/metricsFrom/0': minProperties: got 0, want 1",
    ),
    (
        "an evaluation peer with a misspelt selector",
        {"worker": {"evaluation": {"from": [{"namespaceSelecter": {}}]}}},
        "at '/worker/evaluation/from/0': additional properties 'namespaceSelecter' not allowed",
    ),
    # --- validateValues
    (
        "a secret as a plain setting",
        {"sinks": {"channels": {"email": {"config": {"PSB_SMTP_PASSWORD": "hunter2"}}}}},
        "sinks.channels.email.config.PSB_SMTP_PASSWORD: PSB_SMTP_PASSWORD is a secret and never "
        "goes into a plain value; reference an existing Secret with "
        "sinks.channels.email.secretEnv.PSB_SMTP_PASSWORD",
    ),
    (
        "a setting the chart derives",
        {"worker": {"config": {"PSB_KAFKA_BOOTSTRAP_SERVERS": "other:9092"}}},
        "worker.config.PSB_KAFKA_BOOTSTRAP_SERVERS: the chart sets PSB_KAFKA_BOOTSTRAP_SERVERS "
        "itself from kafka.bootstrapServers; set that instead",
    ),
    (
        "a port set twice",
        {"secretEnv": {"PSB_WORKER_WEB_PORT": {"name": "x", "key": "port"}}},
        "secretEnv.PSB_WORKER_WEB_PORT: the chart sets PSB_WORKER_WEB_PORT itself from "
        "worker.containerPorts.http",
    ),
    (
        "SASL without a Secret",
        {"kafka": {"sasl": {"enabled": True, "username": "bridge"}}},
        "kafka.sasl.existingSecret: SASL is enabled; name the existing Secret holding the password",
    ),
    (
        "SASL without a user name",
        {"kafka": {"sasl": {"enabled": True, "existingSecret": "kafka-user"}}},
        "kafka.sasl.username: SASL is enabled; set the user name, or kafka.sasl.usernameKey",
    ),
    (
        "a worker with no channel to route to",
        {"sinks": {"channels": {"email": {"enabled": False}}}},
        "sinks.channels: the worker routes offers to channels, but no sink is enabled",
    ),
    (
        "more worker replicas than partitions",
        {"worker": {"replicaCount": 8}},
        "worker.replicaCount: 8 is more than kafka.partitions (6)",
    ),
    (
        "an autoscaler beyond the partitions",
        {"worker": {"autoscaling": {"keda": {"enabled": True, "maxReplicas": 12}}}},
        "worker.autoscaling.keda.maxReplicas: 12 is more than kafka.partitions (6)",
    ),
    (
        "HPA and KEDA together",
        {"worker": {"autoscaling": {"hpa": {"enabled": True}, "keda": {"enabled": True}}}},
        "worker.autoscaling: enable either hpa or keda, not both",
    ),
    (
        "an autoscaler whose minimum exceeds its maximum",
        {"ingest": {"autoscaling": {"hpa": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}}}},
        "ingest.autoscaling.hpa.minReplicas: 5 is more than maxReplicas (3)",
    ),
    (
        "the evaluation page on the health and metrics port",
        {"worker": {"evaluation": {"enabled": True}, "containerPorts": {"evaluation": 6066}}},
        "worker.containerPorts.evaluation: 6066 is the health and metrics port",
    ),
    (
        "two sources for the policy",
        {"policy": {"content": "version: 1\n", "existingConfigMap": "policy"}},
        "policy: set either policy.content or policy.existingConfigMap, not both",
    ),
]


@pytest.mark.parametrize(
    ("values", "expected"),
    [pytest.param(values, expected, id=case) for case, values, expected in BAD_VALUES],
)
def test_wrong_values_are_refused_with_a_message_naming_the_key(
    values: dict[str, Any], expected: str
) -> None:
    message = chart.render_error(values)
    assert expected in message, message


def test_several_mistakes_are_reported_together() -> None:
    message = chart.render_error(
        {
            "kafka": {"sasl": {"enabled": True}},
            "worker": {"config": {"PSB_KAFKA_TOPIC_PREFIX": "x."}},
        }
    )
    assert "kafka.sasl.existingSecret:" in message
    assert "kafka.sasl.username:" in message
    assert "worker.config.PSB_KAFKA_TOPIC_PREFIX:" in message


@pytest.mark.parametrize("name", chart.value_set_names())
def test_the_defaults_and_every_value_set_meet_the_schema(name: str) -> None:
    chart.validate_schema(chart.merged_values(chart.value_set(name)))


def test_an_evaluation_port_that_is_off_is_not_checked() -> None:
    values = {"worker": {"containerPorts": {"evaluation": 6066}}}
    worker = chart.container_of(chart.render(values), "worker")
    assert "PSB_EVALUATION_PORT" not in worker.env
