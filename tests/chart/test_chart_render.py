"""The Helm chart rendered by the real Helm engine, for the default values and every value set in
the chart's `ci/` folder, checked the way a cluster (and an operator) would see it."""

from __future__ import annotations

import copy
import re
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.keda import v1alpha1 as keda
from cloudcoil.models.prometheus_operator import v1 as prometheus
from pydantic import BaseModel

from runtime.settings_doc import variables
from tests.support import chart
from tests.support.chart import (
    FULLNAME,
    container_of,
    containers,
    find,
    kn,
    plaintext_kafka,
    render,
    value_set,
)

KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()
VALUE_SETS = chart.value_set_names()
CRD_MODELS: dict[str, type[BaseModel]] = {
    "ScaledObject": keda.ScaledObject,
    "TriggerAuthentication": keda.TriggerAuthentication,
    "ServiceMonitor": prometheus.ServiceMonitor,
}
CHANNELS = ["email", "sms", "teams", "slack", "webhook"]


@pytest.fixture(scope="module", params=VALUE_SETS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(value_set(request.param))


def validate_crd(obj: dict[str, Any]) -> None:
    """Against the pydantic models generated from the KEDA and Prometheus Operator CRD schemas;
    those ignore unknown fields, so a round trip that loses a field is an error too."""
    model = CRD_MODELS[obj["kind"]].model_validate(obj)
    again = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert again == obj, f"{kn(obj)} has fields its CRD does not define"


def test_every_value_set_is_lint_clean() -> None:
    for name in VALUE_SETS:
        report = chart.lint(value_set(name))
        problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
        assert not problems, f"{name}: {problems}"


def test_every_manifest_validates_against_kubernetes_schemas(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    name, objects = rendered
    assert objects, f"{name} rendered nothing"
    for obj in objects:
        if obj["kind"] in CRD_MODELS:
            validate_crd(obj)
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{name}: {kn(obj)} at {path}: {exc.message}")


def test_schema_validation_catches_a_wrong_manifest() -> None:
    """The validators used above do refuse bad objects (so a pass means something)."""
    deployment = copy.deepcopy(
        find(render(value_set("default")), "Deployment", f"{FULLNAME}-worker")
    )
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment["spec"]["replicas"] = 1
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    scaled = copy.deepcopy(find(render(value_set("full")), "ScaledObject", f"{FULLNAME}-worker"))
    scaled["spec"]["maxReplicaCounts"] = 3
    with pytest.raises(AssertionError, match="fields its CRD does not define"):
        validate_crd(scaled)
    scaled = copy.deepcopy(find(render(value_set("full")), "ScaledObject", f"{FULLNAME}-worker"))
    scaled["spec"]["minReplicaCount"] = "none"
    with pytest.raises(ValueError, match="minReplicaCount"):
        validate_crd(scaled)


def test_pods_run_restricted(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    """Non-root, read-only root filesystem, no privilege escalation, no capabilities, the
    runtime's seccomp profile, no API token: Pod Security Standards 'restricted'."""
    name, objects = rendered
    found = list(containers(objects))
    assert found, name
    for container in found:
        pod, ctx = container.pod["spec"], container.spec["securityContext"]
        where = f"{name}: {container.name}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] > 0, where
        assert ctx["readOnlyRootFilesystem"] is True, where
        assert ctx["allowPrivilegeEscalation"] is False, where
        assert ctx["privileged"] is False, where
        assert ctx["capabilities"]["drop"] == ["ALL"] and "add" not in ctx["capabilities"], where
        assert ctx["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["automountServiceAccountToken"] is False, where
        assert not any(v.get("hostPath") for v in pod.get("volumes", [])), (
            f"{where} mounts a host path"
        )
        # with a read-only root, everything the process writes needs a volume
        assert container.mount_for("/tmp"), f"{where}: /tmp is not writable"
        data_dir = container.literal("PSB_WORKER_DATA_DIR")
        if data_dir is not None:
            mount = container.mount_for(data_dir)
            assert mount and "emptyDir" in container.volume(mount["name"]), where


def test_probes_hit_the_port_the_process_listens_on(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    name, objects = rendered
    port_setting = {
        "worker": "PSB_WORKER_WEB_PORT",
        "ingest": "PSB_INGEST_PORT",
        "sink": "PSB_SINK_HEALTH_PORT",
        "answers": "PSB_ANSWERS_PORT",
    }
    for container in containers(objects):
        if container.workload["kind"] != "Deployment":
            continue
        where = f"{name}: {container.name}"
        ports = {port["name"]: port for port in container.spec["ports"]}
        port = ports.pop("http")
        assert str(port["containerPort"]) == container.literal(port_setting[container.spec["name"]])
        if container.spec["name"] == "worker" and "evaluation" in ports:  # its own port
            evaluation = ports.pop("evaluation")["containerPort"]
            assert str(evaluation) == container.literal("PSB_EVALUATION_PORT")
        assert not ports, f"{where}: no port but health and metrics"
        for probe, path in [
            ("livenessProbe", "/health/live"),
            ("readinessProbe", "/health/ready"),
            ("startupProbe", "/health/live"),
        ]:
            get = container.spec[probe]["httpGet"]
            assert (get["path"], get["port"]) == (path, port["name"]), f"{where} {probe}"


def test_no_secret_value_is_ever_rendered() -> None:
    """The chart creates no Secret, puts no secret setting into a literal env value or a
    ConfigMap, and every secret setting is a secretKeyRef to an existing Secret."""
    secret_names = {v.name for v in variables() if v.secret}
    values = chart.with_every_secret_reference(value_set("full"))
    for name, secret in [("PSB_SMTP_PASSWORD", "smtp"), ("PSB_TEAMS_WORKFLOW_URL", "teams")]:
        values["sinks"]["channels"]["email"]["secretEnv"][name] = {"name": secret, "key": "k"}
    objects = render(values)
    assert not [kn(o) for o in objects if o["kind"] == "Secret"]
    seen_refs = set()
    for container in containers(objects):
        for env_name, entry in container.env.items():
            if env_name in secret_names or env_name in {"PSB_SMTP_PASSWORD"}:
                assert "value" not in entry, f"{container.name}: {env_name} as a literal"
                seen_refs.add(env_name)
    assert {"PSB_PSEUDONYM_KEY", "PSB_KAFKA_SASL_PASSWORD", "PSB_SMTP_PASSWORD"} <= seen_refs
    for config_map in (o for o in objects if o["kind"] == "ConfigMap"):
        text = str(config_map.get("data", {}))
        assert not any(name in text for name in secret_names), kn(config_map)


@pytest.mark.parametrize(
    "scope",
    [
        "config",
        "worker.config",
        "ingest.config",
        "answers.config",
        "sinks.config",
        "sinks.channels.sms.config",
        "directorySync.config",
    ],
)
@pytest.mark.parametrize(
    "variable", ["PSB_SMTP_PASSWORD", "PSB_SLACK_TOKEN", "PSB_ANSWERS_SIGNING_KEY"]
)
def test_a_secret_given_as_a_plain_value_is_refused(scope: str, variable: str) -> None:
    values: dict[str, Any] = {}
    node = values
    for part in scope.split("."):
        node = node.setdefault(part, {})
    node[variable] = "hunter2-do-not-render"
    message = chart.render_error(values)
    assert f"{scope}.{variable}: {variable} is a secret" in message
    assert "hunter2" not in message


def test_a_stop_timeout_kubernetes_would_cut_short_is_refused() -> None:
    message = chart.render_error(
        {
            "worker": {
                "terminationGracePeriodSeconds": 20,
                "config": {"PSB_WORKER_STOP_TIMEOUT_S": 45},
            }
        }
    )
    assert "worker.config.PSB_WORKER_STOP_TIMEOUT_S: 45 s is not under" in message
    assert "worker.terminationGracePeriodSeconds (20 s)" in message
    message = chart.render_error({"worker": {"terminationGracePeriodSeconds": 30}})
    assert "PSB_WORKER_STOP_TIMEOUT_S: 30 s is not under" in message  # the default


def test_a_general_secret_reference_is_not_hidden_by_an_empty_specific_one() -> None:
    """values.yaml gives each channel's secrets an entry with an empty name (left out); a
    reference at the top level or for every sink still reaches the channel whole, name and
    key, and the channel's own named entry wins over both."""
    values = plaintext_kafka(
        {
            "secretEnv": {"PSB_SMTP_PASSWORD": {"name": "shared", "key": "smtp-password"}},
            "sinks": {
                "secretEnv": {"PSB_WEBHOOK_SECRET": {"name": "sinks", "key": "hook-key"}},
                "channels": {
                    "webhook": {
                        "enabled": True,
                        "secretEnv": {"PSB_WEBHOOK_URL": {"name": "hook", "key": "url"}},
                    }
                },
            },
        }
    )
    objects = render(values)
    email = container_of(objects, "sink-email").env
    assert email["PSB_SMTP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "shared",
        "key": "smtp-password",
    }
    webhook = container_of(objects, "sink-webhook").env
    assert webhook["PSB_WEBHOOK_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "sinks",
        "key": "hook-key",
    }
    own = {"PSB_SMTP_PASSWORD": {"name": "email-only", "key": "pw"}}
    values["sinks"]["channels"]["email"] = {"secretEnv": own}
    email = container_of(render(values), "sink-email").env
    assert email["PSB_SMTP_PASSWORD"]["valueFrom"]["secretKeyRef"] == own["PSB_SMTP_PASSWORD"]


def test_every_secret_setting_of_the_code_is_refused_as_a_plain_value() -> None:
    for variable in (v for v in variables() if v.secret):
        message = chart.render_error({"config": {variable.name: "x" * 40}})
        assert f"config.{variable.name}:" in message, (
            f"{variable.name} is a secret in the code, but the chart accepts it as a plain "
            f"value: add it to peer-support-bridge.secretSettings in templates/_settings.tpl"
        )


def test_one_sink_deployment_per_enabled_channel() -> None:
    objects = render(value_set("all-channels"))
    sinks = {
        o["metadata"]["name"]: o
        for o in objects
        if o["kind"] == "Deployment" and "-sink-" in o["metadata"]["name"]
    }
    assert sorted(sinks) == sorted(f"{FULLNAME}-sink-{c}" for c in CHANNELS)
    for channel in CHANNELS:
        container = container_of(objects, f"sink-{channel}")
        assert container.spec["args"] == ["sink", channel]
        assert container.literal("PSB_SECRETS_DIR") == "/var/run/secrets/peer-support"
    assert sinks[f"{FULLNAME}-sink-email"]["spec"]["replicas"] == 2
    worker = container_of(objects, "worker")
    assert worker.literal("PSB_WORKER_CHANNELS") == ",".join(sorted(CHANNELS))
    # defaults: only email, and the worker routes only there
    defaults = render(value_set("default"))
    assert [o["metadata"]["name"] for o in defaults if "-sink-" in o["metadata"]["name"]][:1] == [
        f"{FULLNAME}-sink-email"
    ]
    assert container_of(defaults, "worker").literal("PSB_WORKER_CHANNELS") == "email"


def test_each_component_can_be_switched_off() -> None:
    values = plaintext_kafka(
        {
            "worker": {"enabled": False},
            "ingest": {"enabled": False},
            "topicsJob": {"enabled": False},
            "sinks": {"channels": {"email": {"enabled": False}}},
        }
    )
    objects = render(values)
    assert not chart.workloads(objects)
    assert {o["kind"] for o in objects} <= {"ServiceAccount"}
    answers_only = render({**values, "answers": {"enabled": True}})
    assert [kn(o) for o in chart.workloads(answers_only)] == [f"Deployment/{FULLNAME}-answers"]


def test_kafka_connection_with_sasl_and_tls_from_existing_secrets() -> None:
    objects = render(value_set("sasl-tls"))
    for container in containers(objects):
        assert container.literal("PSB_KAFKA_SECURITY_PROTOCOL") == "SASL_SSL", container.name
        assert container.literal("PSB_KAFKA_SASL_MECHANISM") == "SCRAM-SHA-512"
        assert container.literal("PSB_KAFKA_SASL_USERNAME") == "peer-support-bridge"
        ref = container.env["PSB_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "peer-support-bridge", "key": "password"}
        ca = container.literal("PSB_KAFKA_SSL_CA_LOCATION")
        assert ca == "/etc/peer-support/kafka-tls/ca.crt"
        mount = container.mount_for(ca)
        assert mount and mount["readOnly"] and "subPath" not in mount
        sources = container.volume(mount["name"])["projected"]["sources"]
        assert sources == [
            {
                "secret": {
                    "name": "my-cluster-cluster-ca-cert",
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                }
            }
        ]
        assert container.literal("PSB_KAFKA_SSL_CERTIFICATE_LOCATION") is None
    mtls = container_of(render(value_set("autoscaling-keda")), "worker")
    assert mtls.literal("PSB_KAFKA_SSL_KEY_LOCATION") == "/etc/peer-support/kafka-tls/client.key"
    assert mtls.env["PSB_KAFKA_SASL_USERNAME"]["valueFrom"]["secretKeyRef"] == {
        "name": "peer-support-bridge",
        "key": "username",
    }
    plain = container_of(render(value_set("minimal")), "worker")
    assert plain.literal("PSB_KAFKA_SECURITY_PROTOCOL") == "PLAINTEXT"
    assert plain.literal("PSB_KAFKA_TOPIC_PREFIX") == "hf-vest."
    assert "PSB_KAFKA_SASL_PASSWORD" not in plain.env


DNS = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"port": port, "protocol": "TCP"} for port in ports]


def to(*cidrs: str) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]


def egress_of(objects: list[dict[str, Any]], component: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = find(objects, "NetworkPolicy", f"{FULLNAME}-{component}")["spec"][
        "egress"
    ]
    return rules


def test_egress_can_be_limited_to_dns_kafka_and_named_peers() -> None:
    objects = render(value_set("sasl-tls"))
    kafka = {"ports": tcp(9093), "to": to("10.20.10.0/24")}
    assert egress_of(objects, "worker") == [DNS, kafka]
    assert egress_of(objects, "sink-email") == [
        DNS,
        kafka,
        {"ports": tcp(587), "to": to("10.20.0.25/32")},
    ]
    ingest = find(objects, "NetworkPolicy", f"{FULLNAME}-ingest")["spec"]["ingress"]
    assert ingest == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert egress_of(render(value_set("default")), "worker") == [{}]


EVERY_COMPONENT: dict[str, Any] = {
    "kafka": {"bootstrapServers": "b-1.kafka.example:9094,b-2.kafka.example:9094"},
    "ingest": {
        "config": {
            "PSB_INGEST_FHIR_BASE_URL": "https://fhir.hf-vest.example:8443/fhir",
            "PSB_INGEST_FHIR_TOKEN_URL": "https://login.hf-vest.example/token",
        }
    },
    "answers": {"enabled": True},
    "directorySync": {"enabled": True, "config": {"PSB_LDAP_URL": "ldaps://ad.hf-vest.example"}},
    "sinks": {
        "channels": {channel: {"enabled": True} for channel in CHANNELS},
        "secretFiles": ["peer-support-channels"],
    },
}


def test_egress_with_cidrs_lists_only_those_peers_and_ports() -> None:
    """With allowExternalEgress off and every peer's addresses named, each component may reach
    DNS and exactly the peers it talks to, on their ports, at those addresses; nothing else."""
    egress: dict[str, dict[str, Any]] = {
        "kafka": {"cidrs": ["10.20.10.0/24"], "ports": [9094, 9096]},
        "smtp": {"cidrs": ["10.20.0.25/32"], "ports": [25]},
        "http": {"cidrs": ["203.0.113.0/24", "2001:db8::/32"], "ports": [443, 8443]},
        "fhir": {"cidrs": ["10.30.0.10/32"], "ports": [8443]},
        "ldap": {"cidrs": ["10.40.0.5/32", "10.40.0.6/32"], "ports": [636]},
    }
    values = plaintext_kafka(
        {**EVERY_COMPONENT, "networkPolicy": {"allowExternalEgress": False, "egress": egress}}
    )
    objects = render(values)

    def peer(name: str) -> dict[str, Any]:
        return {"ports": tcp(*egress[name]["ports"]), "to": to(*egress[name]["cidrs"])}

    expected = {
        "worker": ["kafka"],
        "ingest": ["kafka", "fhir"],
        "answers": ["kafka"],
        "sink-email": ["kafka", "smtp"],
        **{f"sink-{channel}": ["kafka", "http"] for channel in CHANNELS if channel != "email"},
        "directory-sync": ["kafka", "ldap"],
    }
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert sorted(kn(o) for o in policies) == sorted(
        f"NetworkPolicy/{FULLNAME}-{component}" for component in expected
    )
    for component, peers in expected.items():
        assert egress_of(objects, component) == [DNS, *[peer(name) for name in peers]], component


def test_egress_without_cidrs_keeps_to_the_ports_the_settings_name() -> None:
    """Off without addresses: each peer on the ports of its setting (bootstrap servers, SMTP
    port, FHIR and LDAP URLs), to any address, as the Kafka ports always were."""
    values = plaintext_kafka(
        {
            **EVERY_COMPONENT,
            "networkPolicy": {"allowExternalEgress": False},
            "sinks": {
                **EVERY_COMPONENT["sinks"],
                "channels": {
                    **EVERY_COMPONENT["sinks"]["channels"],
                    "email": {"enabled": True, "config": {"PSB_SMTP_PORT": 465}},
                },
            },
        }
    )
    objects = render(values)
    kafka = {"ports": tcp(9094)}
    assert egress_of(objects, "worker") == [DNS, kafka]
    assert egress_of(objects, "ingest") == [DNS, kafka, {"ports": tcp(8443, 443)}]
    assert egress_of(objects, "sink-email") == [DNS, kafka, {"ports": tcp(465)}]
    assert egress_of(objects, "sink-teams") == [DNS, kafka, {"ports": tcp(443)}]
    assert egress_of(objects, "directory-sync") == [DNS, kafka, {"ports": tcp(636)}]
    # no FHIR server named: the ingest connector reaches Kafka only
    plain = plaintext_kafka({"networkPolicy": {"allowExternalEgress": False}})
    assert egress_of(render(plain), "ingest") == [DNS, {"ports": tcp(9092)}]


MONITORING = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_the_workers_ports_are_closed_unless_values_name_who_may_reach_them() -> None:
    """The worker's port serves health and metrics only, and nothing any namespace needs."""
    default = find(render(value_set("default")), "NetworkPolicy", f"{FULLNAME}-worker")["spec"]
    assert default["ingress"] == []
    assert "Ingress" in default["policyTypes"]
    for sink in [o for o in render(value_set("all-channels")) if o["kind"] == "NetworkPolicy"]:
        if sink["metadata"]["name"].startswith(f"{FULLNAME}-sink-"):
            assert sink["spec"]["ingress"] == [], kn(sink)
    scraped = render(plaintext_kafka({"networkPolicy": {"metricsFrom": MONITORING}}))
    worker = find(scraped, "NetworkPolicy", f"{FULLNAME}-worker")["spec"]["ingress"]
    assert worker == [{"ports": [{"port": 6066, "protocol": "TCP"}], "from": MONITORING}]
    ingest = find(scraped, "NetworkPolicy", f"{FULLNAME}-ingest")["spec"]["ingress"]
    assert ingest == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]  # its public API


def test_the_evaluation_page_is_on_its_own_port_only_when_enabled() -> None:
    off = render(value_set("default"))
    assert container_of(off, "worker").literal("PSB_EVALUATION_PORT") is None
    assert not [o for o in off if kn(o) == f"Service/{FULLNAME}-evaluation"]
    quality = [{"podSelector": {"matchLabels": {"app": "quality-proxy"}}}]
    on = render(plaintext_kafka({"worker": {"evaluation": {"enabled": True, "from": quality}}}))
    worker = container_of(on, "worker")
    assert worker.literal("PSB_EVALUATION_PORT") == "8090"
    assert {"name": "evaluation", "containerPort": 8090, "protocol": "TCP"} in worker.spec["ports"]
    service = find(on, "Service", f"{FULLNAME}-evaluation")["spec"]
    assert service["ports"] == [
        {"name": "evaluation", "port": 8090, "targetPort": "evaluation", "protocol": "TCP"}
    ]
    assert service["selector"]["app.kubernetes.io/component"] == "worker"
    ingress = find(on, "NetworkPolicy", f"{FULLNAME}-worker")["spec"]["ingress"]
    assert ingress == [{"ports": [{"port": 8090, "protocol": "TCP"}], "from": quality}]


def test_the_ingest_server_reads_the_policy_and_the_topics_job_the_report_retention() -> None:
    objects = render(
        plaintext_kafka(
            {"policy": {"content": "version: x\n"}, "kafka": {"reportsRetentionHours": 6}}
        )
    )
    ingest = container_of(objects, "ingest")
    assert ingest.literal("PSB_POLICY_FILE") == "/etc/peer-support/policy/policy.yaml"
    assert ingest.mount_for("/etc/peer-support/policy/policy.yaml") is not None
    job = next(c for c in containers(objects) if c.workload["kind"] == "Job")
    assert job.literal("PSB_KAFKA_REPORTS_RETENTION_HOURS") == "6"


def test_topics_job_runs_before_the_release_with_the_workers_kafka_settings() -> None:
    objects = render(value_set("sasl-tls"))
    job = find(objects, "Job", f"{FULLNAME}-topics")
    hooks = job["metadata"]["annotations"]["helm.sh/hook"]
    assert hooks == "pre-install,pre-upgrade"
    topics = container_of(objects, "topics")
    assert topics.spec["args"] == ["topics", "create"]
    worker = container_of(objects, "worker")
    kafka = {k: v for k, v in worker.env.items() if k.startswith("PSB_KAFKA_")}
    assert {k: v for k, v in topics.env.items() if k.startswith("PSB_KAFKA_")} == kafka
    assert topics.literal("PSB_KAFKA_PARTITIONS") == "6"
    # hooks run before the release's ServiceAccount exists
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]
    assert not [
        o for o in render(plaintext_kafka({"topicsJob": {"enabled": False}})) if o["kind"] == "Job"
    ]


def test_policy_hot_reloads_and_templates_roll_the_pods() -> None:
    base = value_set("all-channels")
    objects = render(base)
    for component in ["worker", "sink-email", "sink-teams"]:
        container = container_of(objects, component)
        policy_file = container.literal("PSB_POLICY_FILE")
        assert policy_file == "/etc/peer-support/policy/policy.yaml"
        mount = container.mount_for(policy_file)
        assert mount and "subPath" not in mount, "a subPath mount never sees ConfigMap updates"
        assert container.volume(mount["name"])["configMap"]["name"] == f"{FULLNAME}-policy"
        templates = container.literal("PSB_TEMPLATES_DIR")
        assert templates and container.mount_for(templates)
    policy_map = find(objects, "ConfigMap", f"{FULLNAME}-policy")
    assert policy_map["data"]["policy.yaml"].strip() == 'version: "2024-06"'

    def pod_templates(values: dict[str, Any]) -> dict[str, Any]:
        return {c.name: c.pod for c in containers(render(values))}

    new_policy = copy.deepcopy(base)
    new_policy["policy"]["content"] = 'version: "2024-07"\n'
    assert pod_templates(new_policy) == pod_templates(base), "a policy edit must not restart pods"
    new_templates = copy.deepcopy(base)
    new_templates["templates"]["files"]["offer.nb.txt.j2"] = "Hei igjen\n"
    before, after = pod_templates(base), pod_templates(new_templates)
    rolled = {name for name in before if before[name] != after[name]}
    assert any("sink-email" in name for name in rolled) and any("worker" in name for name in rolled)
    assert not any("ingest" in name for name in rolled)
    # an existing ConfigMap is mounted instead of the chart's own
    full = render(value_set("full"))
    assert not [o for o in full if o["metadata"]["name"] == f"{FULLNAME}-policy"]
    worker = container_of(full, "worker")
    mount = worker.mount_for(worker.literal("PSB_POLICY_FILE") or "")
    assert mount and worker.volume(mount["name"])["configMap"]["name"] == "peer-support-policy"


def test_autoscaling_with_hpa() -> None:
    objects = render(value_set("autoscaling-hpa"))
    for component, low, high in [("worker", 2, 12), ("ingest", 2, 8)]:
        hpa = find(objects, "HorizontalPodAutoscaler", f"{FULLNAME}-{component}")
        assert hpa["spec"]["scaleTargetRef"]["name"] == f"{FULLNAME}-{component}"
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (low, high)
        deployment = find(objects, "Deployment", f"{FULLNAME}-{component}")
        assert "replicas" not in deployment["spec"], "an autoscaled Deployment leaves replicas"


def test_autoscaling_with_keda_on_the_workers_consumer_group() -> None:
    values = value_set("autoscaling-keda")
    values["worker"]["config"] = {"PSB_WORKER_APP_ID": "hf-vest-bridge"}
    objects = render(values)
    scaled = find(objects, "ScaledObject", f"{FULLNAME}-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == f"{FULLNAME}-worker"
    assert scaled["spec"]["maxReplicaCount"] == 12
    (trigger,) = scaled["spec"]["triggers"]
    worker = container_of(objects, "worker")
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == worker.literal("PSB_WORKER_APP_ID")
    assert trigger["metadata"]["bootstrapServers"] == worker.literal("PSB_KAFKA_BOOTSTRAP_SERVERS")
    assert trigger["metadata"]["sasl"] == "scram_sha256"
    assert trigger["metadata"]["tls"] == "enable"
    auth = find(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    assert refs == {
        "password": ("peer-support-bridge", "password"),
        "username": ("peer-support-bridge", "username"),
        "ca": ("kafka-cluster-ca", "ca.crt"),
        "cert": ("peer-support-bridge-tls", "user.crt"),
        "key": ("peer-support-bridge-tls", "user.key"),
    }
    assert not [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    assert "replicas" not in find(objects, "Deployment", f"{FULLNAME}-worker")["spec"]


def test_service_monitor_scrapes_every_component() -> None:
    objects = render(value_set("full"))
    monitor = find(objects, "ServiceMonitor", FULLNAME)
    selector = monitor["spec"]["selector"]["matchLabels"]
    (excluded,) = monitor["spec"]["selector"]["matchExpressions"]
    services = [
        o
        for o in objects
        if o["kind"] == "Service"
        and all(o["metadata"]["labels"].get(k) == v for k, v in selector.items())
        and o["metadata"]["labels"][excluded["key"]] not in excluded["values"]
    ]
    scraped = {s["spec"]["selector"]["app.kubernetes.io/component"] for s in services}
    deployed = {
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for d in objects
        if d["kind"] == "Deployment"
    }
    assert scraped == deployed
    assert all(s["spec"]["ports"][0]["name"] == "http" for s in services)
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]


def test_ingress_routes_to_the_ingest_service() -> None:
    objects = render(value_set("full"))
    ingress = find(objects, "Ingress", f"{FULLNAME}-ingest")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "ingest.hf-vest.example.org"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    service = find(objects, "Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert ingress["spec"]["tls"] == [
        {"hosts": ["ingest.hf-vest.example.org"], "secretName": "ingest-tls"}
    ]
    image = container_of(objects, "worker").spec["image"]
    assert image == (
        "registry.example.org/hf-vest/peer-support-bridge@sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )


def routed(ingress: dict[str, Any], path: str) -> bool:
    """Whether an Ingress sends a request for `path` to a backend (Exact and Prefix as the
    Ingress API defines them; Prefix matches whole path elements)."""
    for rule in ingress["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            if entry["pathType"] == "Exact" and path == entry["path"]:
                return True
            prefix = entry["path"].rstrip("/")
            if entry["pathType"] != "Exact" and (
                not prefix or path == prefix or path.startswith(prefix + "/")
            ):
                return True
    return False


NOT_PUBLIC = ["/", "/metrics", "/health/live", "/health/ready", "/health", "/evaluation"]


def test_each_ingress_routes_only_the_public_paths_of_its_component() -> None:
    """The port behind each Ingress also serves /health/* and /metrics: the Ingress names the
    component's public routes one by one, so nothing else is reachable from outside."""
    from connectors.ingest.app import ROUTES

    objects = render(value_set("full"))
    ingest = find(objects, "Ingress", f"{FULLNAME}-ingest")
    public = sorted(
        path
        for _, path, _ in ROUTES
        if path not in {"/metrics"} and not path.startswith("/health/")
    )
    assert public == ["/fhir/AdverseEvent", "/fhir/subscription", "/openapi.json", "/v1/reports"]
    (rule,) = ingest["spec"]["rules"]
    assert sorted((p["path"], p["pathType"]) for p in rule["http"]["paths"]) == [
        (path, "Exact") for path in public
    ]
    answers = find(objects, "Ingress", f"{FULLNAME}-answers")
    (rule,) = answers["spec"]["rules"]
    # connectors/answers/server.py serves GET and POST /a/{token}, and no static files
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [("/a/", "Prefix")]
    assert routed(answers, "/a/token-of-an-offer")
    for ingress in (ingest, answers):
        for path in NOT_PUBLIC:
            assert not routed(ingress, path), f"{kn(ingress)} routes {path}"
        for entry in ingress["spec"]["rules"][0]["http"]["paths"]:
            assert entry["backend"]["service"]["port"] == {"name": "http"}


def test_disruption_budgets_for_every_component() -> None:
    objects = render(value_set("all-channels"))
    budgets = {o["metadata"]["name"] for o in objects if o["kind"] == "PodDisruptionBudget"}
    deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    assert budgets == deployments


def test_notes_tell_the_operator_what_to_create() -> None:
    text = chart.notes(value_set("sasl-tls"))
    assert "kubectl -n hospital create secret generic peer-support-pseudonym-key" in text
    assert 'Kafka password in Secret "peer-support-bridge", key "password"' in text
    assert "SASL_SSL" in text


def test_notes_say_how_to_let_callers_into_the_ingest_api() -> None:
    assert "ingest.secretEnv.PSB_INGEST_TOKEN.name" in chart.notes(value_set("default"))
    named = {"ingest": {"secretEnv": {"PSB_INGEST_TOKEN": {"name": "peer-support-ingest"}}}}
    assert "ingest.secretEnv.PSB_INGEST_TOKEN.name" not in chart.notes(plaintext_kafka(named))


PUBLIC = {"ingest", "answers"}  # their HTTP port is their API


def test_components_that_are_not_public_admit_only_the_peers_values_name(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    """The worker, the sinks and the directory sync: every ingress rule has a `from` made of
    peers the values name (metricsFrom, worker.evaluation.from) or is an extraIngress rule;
    nothing admits every namespace unless the values say so."""
    name, objects = rendered
    values = chart.merged_values(value_set(name))
    np = values["networkPolicy"]
    named = [*np["metricsFrom"], *values["worker"]["evaluation"]["from"]]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert policies or not np["enabled"], name
    for policy in policies:
        component = policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        if component in PUBLIC:
            continue
        where = f"{name}: {kn(policy)}"
        assert "Ingress" in policy["spec"]["policyTypes"], where
        for rule in policy["spec"]["ingress"]:
            if rule in np["extraIngress"]:
                continue
            assert rule.get("from"), f"{where}: a rule without `from` admits everyone: {rule}"
            assert all(peer in named for peer in rule["from"]), f"{where}: {rule['from']}"
            if {"namespaceSelector": {}} not in named:
                assert {"namespaceSelector": {}} not in rule["from"], where


def test_the_metrics_port_of_the_sinks_follows_metrics_from() -> None:
    values = {**value_set("all-channels"), "networkPolicy": {"metricsFrom": MONITORING}}
    objects = render(values)
    for channel in CHANNELS:
        ingress = find(objects, "NetworkPolicy", f"{FULLNAME}-sink-{channel}")["spec"]["ingress"]
        assert ingress == [{"ports": [{"port": 8081, "protocol": "TCP"}], "from": MONITORING}]
    closed = render({**values, "networkPolicy": {"metricsFrom": []}})
    for channel in CHANNELS:
        assert find(closed, "NetworkPolicy", f"{FULLNAME}-sink-{channel}")["spec"]["ingress"] == []


def test_the_public_ports_keep_their_callers() -> None:
    """Ingest and answers are not closed with the rest: their port is their API."""
    values = plaintext_kafka({"answers": {"enabled": True}})
    for component, port in [("ingest", 8080), ("answers", 8082)]:
        ingress = find(render(values), "NetworkPolicy", f"{FULLNAME}-{component}")["spec"]
        assert ingress["ingress"] == [{"ports": [{"port": port, "protocol": "TCP"}]}]
        inside = render({**values, "networkPolicy": {"allowExternal": False}})
        rules = find(inside, "NetworkPolicy", f"{FULLNAME}-{component}")["spec"]["ingress"]
        assert rules == [
            {"ports": [{"port": port, "protocol": "TCP"}], "from": [{"namespaceSelector": {}}]}
        ]


def test_the_directory_sync_listens_on_nothing_and_reaches_its_ldap_server() -> None:
    values = value_set("full")
    policy = find(render(values), "NetworkPolicy", f"{FULLNAME}-directory-sync")["spec"]
    assert policy["ingress"] == []  # metricsFrom is set, but the sync has no port
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "directory-sync"
    assert policy["egress"] == [{}]
    values["networkPolicy"]["allowExternalEgress"] = False
    egress = find(render(values), "NetworkPolicy", f"{FULLNAME}-directory-sync")["spec"]["egress"]
    assert {"ports": [{"port": 636, "protocol": "TCP"}]} in egress
    values["directorySync"]["config"]["PSB_LDAP_URL"] = "ldap://dc1.hf-vest.example/"
    values["directorySync"]["config"]["PSB_LDAP_START_TLS"] = True
    egress = find(render(values), "NetworkPolicy", f"{FULLNAME}-directory-sync")["spec"]["egress"]
    assert {"ports": [{"port": 389, "protocol": "TCP"}]} in egress
    worker = find(render(values), "NetworkPolicy", f"{FULLNAME}-worker")["spec"]["egress"]
    assert not [rule for rule in worker if rule["ports"][0]["port"] in {389, 636}]


def test_the_evaluation_page_has_no_port_service_or_rule_unless_enabled() -> None:
    quality = [{"podSelector": {"matchLabels": {"app": "quality-proxy"}}}]
    named_but_off = render(
        plaintext_kafka({"worker": {"evaluation": {"enabled": False, "from": quality}}})
    )
    worker = container_of(named_but_off, "worker")
    assert [port["name"] for port in worker.spec["ports"]] == ["http"]
    assert "PSB_EVALUATION_PORT" not in worker.env
    assert not [o for o in named_but_off if kn(o) == f"Service/{FULLNAME}-evaluation"]
    assert find(named_but_off, "NetworkPolicy", f"{FULLNAME}-worker")["spec"]["ingress"] == []
    # on, but no peer named: the page is served, and the NetworkPolicy admits no one to it
    unnamed = render(plaintext_kafka({"worker": {"evaluation": {"enabled": True}}}))
    assert find(unnamed, "Service", f"{FULLNAME}-evaluation")
    assert find(unnamed, "NetworkPolicy", f"{FULLNAME}-worker")["spec"]["ingress"] == []
    # never the health and metrics port, not even through the metrics Service
    both = render(
        plaintext_kafka(
            {
                "worker": {"evaluation": {"enabled": True, "from": quality}},
                "networkPolicy": {"metricsFrom": MONITORING},
                "metrics": {"serviceMonitor": {"enabled": True}},
            }
        )
    )
    worker = container_of(both, "worker")
    assert worker.literal("PSB_WORKER_WEB_PORT") == "6066"
    assert worker.literal("PSB_EVALUATION_PORT") == "8090"
    metrics = find(both, "Service", f"{FULLNAME}-worker")["spec"]["ports"]
    assert [(p["name"], p["targetPort"]) for p in metrics] == [("http", "http")]
    rules = find(both, "NetworkPolicy", f"{FULLNAME}-worker")["spec"]["ingress"]
    assert rules == [
        {"ports": [{"port": 6066, "protocol": "TCP"}], "from": MONITORING},
        {"ports": [{"port": 8090, "protocol": "TCP"}], "from": quality},
    ]


def test_the_new_settings_reach_the_processes_that_read_them() -> None:
    values = {
        **value_set("default"),
        "config": {"PSB_SOURCE_SYSTEMS": "synergi,avvik-hf"},
        "kafka": {"reportsRetentionHours": 24},
        "worker": {"config": {"PSB_WORKER_EXPIRY_INTERVAL_S": 600, "PSB_EVALUATION_HOST": "::"}},
        "directorySync": {"enabled": True},
        "answers": {"enabled": True},
    }
    objects = render(values)
    for component in ["worker", "ingest"]:  # they read BoundarySettings
        assert container_of(objects, component).literal("PSB_SOURCE_SYSTEMS") == "synergi,avvik-hf"
    every = list(containers(objects))
    assert {c.spec["name"] for c in every} >= {"worker", "ingest", "sink", "answers", "topics"}
    for container in every:  # every Kafka client reads KafkaSettings
        assert container.literal("PSB_KAFKA_REPORTS_RETENTION_HOURS") == "24", container.name
    worker = container_of(objects, "worker")
    assert worker.literal("PSB_WORKER_EXPIRY_INTERVAL_S") == "600"
    assert worker.literal("PSB_EVALUATION_HOST") == "::"
    defaults = container_of(render(value_set("default")), "topics")
    assert defaults.literal("PSB_KAFKA_REPORTS_RETENTION_HOURS") == "72"


def test_notes_name_the_retention_of_raw_reports() -> None:
    text = chart.notes(plaintext_kafka({"kafka": {"reportsRetentionHours": 48}}))
    assert "incident-reports keeps raw reports (may hold patient data) 48 hours" in text
    assert "retention.ms=172800000" in text
    assert "also one that exists already" in text
    off = chart.notes(
        plaintext_kafka({"topicsJob": {"enabled": False}, "kafka": {"topicPrefix": "hf."}})
    )
    assert "give hf.incident-reports that retention.ms yourself" in off


def test_notes_say_who_may_reach_the_closed_ports() -> None:
    assert "networkPolicy.metricsFrom is\nempty" in chart.notes(value_set("default"))
    scraped = chart.notes(plaintext_kafka({"metrics": {"serviceMonitor": {"enabled": True}}}))
    assert "the ServiceMonitor's scrapes are refused" in scraped
    assert "networkPolicy.metricsFrom" not in chart.notes(
        plaintext_kafka({"networkPolicy": {"metricsFrom": MONITORING}})
    )
    assert "/evaluation" not in chart.notes(value_set("default"))
    page = chart.notes(plaintext_kafka({"worker": {"evaluation": {"enabled": True}}}))
    assert f"http://{FULLNAME}-evaluation.hospital.svc:8090/evaluation" in page
    assert "worker.evaluation.from" in page
    named = {"enabled": True, "from": MONITORING}
    assert "worker.evaluation.from" not in chart.notes(
        plaintext_kafka({"worker": {"evaluation": named}})
    )


def readme_value_files() -> dict[str, tuple[str | None, dict[str, Any]]]:
    """The values files the chart README shows: name -> (the file it is used with, values)."""
    text = (chart.CHART / "README.md").read_text()
    found: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL):
        head = re.match(
            r"# ([a-z-]+-values\.yaml)(?:, used with -f ([a-z-]+-values\.yaml))?", block
        )
        if head:
            found[head[1]] = (head[2], yaml.safe_load(block))
    return found


def test_the_readme_value_files_install() -> None:
    files = readme_value_files()
    assert {"quick-start-values.yaml", "dev-values.yaml", "egress-values.yaml"} <= set(files)
    for name, (base, values) in files.items():
        layered = chart.deep_merge(files[base][1], values) if base else values
        chart.validate_schema(chart.merged_values(layered))
        assert render(layered), name
    assert "kafkaPlaintext" in chart.notes(files["dev-values.yaml"][1])
    assert "INSECURE" not in chart.notes(files["quick-start-values.yaml"][1])
