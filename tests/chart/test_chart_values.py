"""Wrong values stop `helm install` with a message that names the key: the chart's
values.schema.json for shapes and types, its validateValues helper for combinations."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

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
        "the directory sync's bind password as a plain setting",
        {"directorySync": {"config": {"PSB_LDAP_BIND_PASSWORD": "hunter2"}}},
        "directorySync.config.PSB_LDAP_BIND_PASSWORD: PSB_LDAP_BIND_PASSWORD is a secret and "
        "never goes into a plain value; reference an existing Secret with "
        "directorySync.secretEnv.PSB_LDAP_BIND_PASSWORD: {name: <secret>, key: <key>}",
    ),
    (
        "a secret as a literal extra environment variable",
        {"ingest": {"extraEnvVars": [{"name": "PSB_INGEST_TOKEN", "value": "hunter2"}]}},
        "ingest.extraEnvVars: PSB_INGEST_TOKEN is a secret and never goes into a plain value; "
        "reference an existing Secret with ingest.secretEnv.PSB_INGEST_TOKEN",
    ),
    (
        "a setting as a literal extra environment variable, past the chart's checks",
        {"extraEnvVars": [{"name": "PSB_INGEST_ALLOW_UNAUTHENTICATED", "value": "true"}]},
        "extraEnvVars: PSB_INGEST_ALLOW_UNAUTHENTICATED is a setting; put it in config, where "
        "the chart checks it",
    ),
    (
        "egress addresses while egress is open",
        {"networkPolicy": {"egress": {"kafka": {"cidrs": ["10.20.10.0/24"]}}}},
        "networkPolicy.egress.kafka.cidrs: egress is limited to these addresses only when "
        "networkPolicy.allowExternalEgress is false",
    ),
    (
        "egress addresses without NetworkPolicies",
        {
            "networkPolicy": {
                "enabled": False,
                "egress": {
                    "smtp": {"cidrs": ["10.20.0.25/32"]},
                    "ldap": {"cidrs": ["10.4.0.5/32"]},
                },
            }
        },
        "networkPolicy.egress.smtp.cidrs, networkPolicy.egress.ldap.cidrs: egress is limited to "
        "these addresses by the chart's NetworkPolicies, but networkPolicy.enabled is false",
    ),
    (
        "egress addresses that are no CIDR",
        {"networkPolicy": {"egress": {"kafka": {"cidrs": ["kafka.example"]}}}},
        "at '/networkPolicy/egress/kafka/cidrs/0': 'kafka.example' does not match pattern",
    ),
    (
        "an Ingress path of one's own (the public paths are fixed)",
        {"ingest": {"ingress": {"path": "/"}}},
        "at '/ingest/ingress': additional properties 'path' not allowed",
    ),
    (
        "an unknown allow flag",
        {"security": {"allowInsecure": {"everything": True}}},
        "at '/security/allowInsecure': additional properties 'everything' not allowed",
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
    values = chart.plaintext_kafka({"worker": {"containerPorts": {"evaluation": 6066}}})
    worker = chart.container_of(chart.render(values), "worker")
    assert "PSB_EVALUATION_PORT" not in worker.env


def test_a_literal_extra_environment_variable_that_is_no_setting_or_a_reference_is_kept() -> None:
    values = chart.plaintext_kafka(
        {
            "ingest": {
                "extraEnvVars": [
                    {"name": "TZ", "value": "Europe/Oslo"},
                    {
                        "name": "PSB_INGEST_TOKEN",
                        "valueFrom": {"secretKeyRef": {"name": "ingest", "key": "token"}},
                    },
                ]
            }
        }
    )
    ingest = chart.container_of(chart.render(values), "ingest")
    assert ingest.literal("TZ") == "Europe/Oslo"
    assert ingest.env["PSB_INGEST_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "ingest"


def config_scopes(node: dict[str, Any], prefix: str = "") -> list[str]:
    """Every place in values.yaml with a `config` map beside a `secretEnv` map ("" is the top)."""
    found = [prefix] if "config" in node and "secretEnv" in node else []
    for key, child in node.items():
        if isinstance(child, dict) and key not in {"config", "secretEnv"}:
            found += config_scopes(child, f"{prefix}{key}.")
    return found


SCOPES = config_scopes(yaml.safe_load((chart.CHART / "values.yaml").read_text()))


def test_every_config_map_is_found() -> None:
    channels = [f"sinks.channels.{c}." for c in ["email", "sms", "teams", "slack", "webhook"]]
    assert sorted(SCOPES) == sorted(
        ["", "worker.", "ingest.", "answers.", "sinks.", "directorySync.", *channels]
    )


@pytest.mark.parametrize("scope", SCOPES, ids=lambda scope: scope.rstrip(".") or "top")
def test_every_config_map_refuses_a_secret_naming_the_secret_env_to_use(scope: str) -> None:
    for name in ["PSB_LDAP_BIND_PASSWORD", "PSB_SMTP_USERNAME", "PSB_ANSWERS_SIGNING_KEY"]:
        values: dict[str, Any] = {}
        node = values
        for part in [*scope.split(".")[:-1], "config"]:
            node = node.setdefault(part, {})
        node[name] = "hunter2-do-not-render"
        message = chart.render_error(values)
        assert (
            f"{scope}config.{name}: {name} is a secret and never goes into a plain value; "
            f"reference an existing Secret with {scope}secretEnv.{name}: "
            "{name: <secret>, key: <key>}"
        ) in message, message
        assert "hunter2" not in message


# --- insecure choices: each installs only with its security.allowInsecure flag

TLS: dict[str, Any] = {"kafka": {"tls": {"enabled": True}}}
SASL = {"enabled": True, "username": "bridge", "existingSecret": "kafka-user"}
WEBHOOK_URL = {"PSB_WEBHOOK_URL": {"name": "hook", "key": "url"}}

# (flag, values that make the choice and no other, the key the refusal names)
INSECURE: list[tuple[str, dict[str, Any], str]] = [
    ("kafkaPlaintext", {}, "kafka.tls.enabled"),
    ("kafkaPlaintext", {"kafka": {"sasl": SASL}}, "kafka.tls.enabled"),
    (
        "kafkaUnverifiedHostname",
        {"kafka": {"tls": {"enabled": True, "checkHostname": False}}},
        "kafka.tls.checkHostname",
    ),
    (
        "ingestUnauthenticated",
        {**TLS, "ingest": {"config": {"PSB_INGEST_ALLOW_UNAUTHENTICATED": True}}},
        "ingest.config.PSB_INGEST_ALLOW_UNAUTHENTICATED",
    ),
    (
        "ingestUnauthenticated",
        {**TLS, "ingest": {"config": {"PSB_INGEST_ALLOW_UNAUTHENTICATED": "yes"}}},
        "ingest.config.PSB_INGEST_ALLOW_UNAUTHENTICATED",
    ),
    (
        "ingestBodyHmac",
        {**TLS, "ingest": {"config": {"PSB_INGEST_ALLOW_BODY_HMAC": "1"}}},
        "ingest.config.PSB_INGEST_ALLOW_BODY_HMAC",
    ),
    (
        "fhirPlaintext",
        {**TLS, "ingest": {"config": {"PSB_INGEST_FHIR_BASE_URL": "http://fhir.hf.example/r4"}}},
        "ingest.config.PSB_INGEST_FHIR_BASE_URL",
    ),
    (
        "smtpPlaintext",
        {**TLS, "sinks": {"channels": {"email": {"config": {"PSB_SMTP_SECURITY": "none"}}}}},
        "sinks.channels.email.config.PSB_SMTP_SECURITY",
    ),
    (
        "smtpUnverified",
        {**TLS, "sinks": {"channels": {"email": {"config": {"PSB_SMTP_VALIDATE_CERTS": False}}}}},
        "sinks.channels.email.config.PSB_SMTP_VALIDATE_CERTS",
    ),
    (
        "smtpUnverified",
        {**TLS, "sinks": {"channels": {"email": {"config": {"PSB_SMTP_VALIDATE_CERTS": "off"}}}}},
        "sinks.channels.email.config.PSB_SMTP_VALIDATE_CERTS",
    ),
    (
        "webhookUnsigned",
        {**TLS, "sinks": {"channels": {"webhook": {"enabled": True, "secretEnv": WEBHOOK_URL}}}},
        "sinks.channels.webhook.secretEnv.PSB_WEBHOOK_SECRET",
    ),
    (
        "ldapPlaintext",
        {**TLS, "directorySync": {"enabled": True, "config": {"PSB_LDAP_URL": "ldap://dc1"}}},
        "directorySync.config.PSB_LDAP_URL",
    ),
    (
        "ldapPlaintext",
        {
            **TLS,
            "directorySync": {
                "enabled": True,
                "config": {"PSB_LDAP_URL": "ldaps://dc1", "PSB_LDAP_ALLOW_CLEARTEXT_BIND": True},
            },
        },
        "directorySync.config.PSB_LDAP_ALLOW_CLEARTEXT_BIND",
    ),
]
INSECURE_IDS = [f"{flag}-{n}" for n, (flag, _, _) in enumerate(INSECURE)]


def allowing(values: dict[str, Any], *flags: str) -> dict[str, Any]:
    return chart.deep_merge(values, {"security": {"allowInsecure": dict.fromkeys(flags, True)}})


def listed_in_notes(values: dict[str, Any]) -> list[str]:
    """The flags NOTES lists under its insecure choices."""
    text = chart.notes(values)
    if "INSECURE CHOICES" not in text:
        return []
    block = text.split("INSECURE CHOICES", 1)[1].split("\n\n", 1)[0]
    return [line.split()[1] for line in block.splitlines() if line.startswith("  - ")]


@pytest.mark.parametrize(("flag", "values", "key"), INSECURE, ids=INSECURE_IDS)
def test_an_insecure_choice_without_its_flag_is_refused_naming_the_flag(
    flag: str, values: dict[str, Any], key: str
) -> None:
    message = chart.render_error(values)
    assert f"\n{key}: " in message, message
    assert f"or allow it with security.allowInsecure.{flag}: true" in message, message
    assert message.count("security.allowInsecure.") == 1, message


@pytest.mark.parametrize(("flag", "values", "key"), INSECURE, ids=INSECURE_IDS)
def test_an_insecure_choice_with_its_flag_installs_and_notes_list_it(
    flag: str, values: dict[str, Any], key: str
) -> None:
    allowed = allowing(values, flag)
    chart.validate_schema(chart.merged_values(allowed))
    assert chart.render(allowed)
    assert listed_in_notes(allowed) == [flag]
    assert f"  - {flag} ({key}): " in chart.notes(allowed)


def test_every_allow_flag_has_its_insecure_choice_tested() -> None:
    flags = chart.merged_values({})["security"]["allowInsecure"]
    assert not any(flags.values()), "every insecure choice is off by default"
    assert sorted(flags) == sorted({flag for flag, _, _ in INSECURE})


def test_a_plain_install_chooses_how_kafka_is_reached() -> None:
    """kafka.tls is off by default, so `helm install` without values stops and names both ways
    on; each of them installs."""
    message = chart.render_error({})
    assert "kafka.tls.enabled: Kafka is spoken without TLS (PLAINTEXT)" in message
    assert "set kafka.tls.enabled: true" in message
    assert "security.allowInsecure.kafkaPlaintext: true" in message
    assert chart.render(TLS) and listed_in_notes(TLS) == []
    assert listed_in_notes(chart.value_set("default")) == ["kafkaPlaintext"]


def test_notes_list_every_insecure_choice_in_force_and_only_those() -> None:
    # on TLS, all but kafkaPlaintext (and smtpPlaintext, which leaves no certificate to verify)
    together = [(f, v) for f, v, _ in INSECURE if f not in {"kafkaPlaintext", "smtpPlaintext"}]
    everything = chart.deep_merge(*[values for _, values in together])
    flags = sorted({flag for flag, _ in together})
    message = chart.render_error(everything)
    assert (
        sorted(
            line.rsplit("security.allowInsecure.", 1)[1].split(":")[0]
            for line in message.splitlines()
            if "security.allowInsecure." in line
        )
        == flags
    )
    assert sorted(listed_in_notes(allowing(everything, *flags))) == flags
    # an allow flag for a choice not made lists nothing
    assert listed_in_notes(allowing(TLS, *flags)) == []


@pytest.mark.parametrize("name", chart.value_set_names())
def test_every_value_set_allows_exactly_the_insecure_choices_it_makes(name: str) -> None:
    values = chart.value_set(name)
    allowed = sorted(
        flag for flag, on in values.get("security", {}).get("allowInsecure", {}).items() if on
    )
    assert sorted(listed_in_notes(values)) == allowed


def test_secure_choices_need_no_flag() -> None:
    secure: list[dict[str, Any]] = [
        # the webhook's signing key by reference, or possibly in a mounted Secret (NOTES says so)
        {
            "sinks": {
                "channels": {
                    "webhook": {
                        "enabled": True,
                        "secretEnv": {
                            **WEBHOOK_URL,
                            "PSB_WEBHOOK_SECRET": {"name": "hook", "key": "signing-key"},
                        },
                    }
                }
            }
        },
        {"sinks": {"channels": {"webhook": {"enabled": True, "secretFiles": ["hook"]}}}},
        {
            "sinks": {
                "secretEnv": {"PSB_WEBHOOK_SECRET": {"name": "hook", "key": "signing-key"}},
                "channels": {"webhook": {"enabled": True, "secretEnv": WEBHOOK_URL}},
            }
        },
        # ldap:// upgraded with StartTLS, and an anonymous-free ldaps:// bind
        {
            "directorySync": {
                "enabled": True,
                "config": {"PSB_LDAP_URL": "ldap://dc1", "PSB_LDAP_START_TLS": "true"},
            }
        },
        # the environment's precedence: a channel's or component's own setting wins over the
        # top level's (here their defaults in values.yaml)
        {"config": {"PSB_SMTP_VALIDATE_CERTS": False}},
        {"config": {"PSB_INGEST_ALLOW_UNAUTHENTICATED": True}},
        # switches that stay off, in any spelling
        {"ingest": {"config": {"PSB_INGEST_ALLOW_UNAUTHENTICATED": "no"}}},
        {"ingest": {"config": {"PSB_INGEST_FHIR_BASE_URL": "https://fhir.hf.example/r4"}}},
        # a component that is off makes no choice
        {"ingest": {"enabled": False, "config": {"PSB_INGEST_ALLOW_UNAUTHENTICATED": True}}},
    ]
    for values in secure:
        assert listed_in_notes(chart.deep_merge(TLS, values)) == [], values
    in_files = chart.notes(chart.deep_merge(TLS, secure[1]))
    assert "signs its requests only if one of its secretFiles holds psb_webhook_secret" in in_files
