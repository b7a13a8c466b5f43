"""`helm test`: the chart's test hook, rendered by the real Helm engine, asks each enabled
component's Service for its readiness, runs as the chart's other pods do, and its check itself
tells a ready component from one that is not (run here against real local HTTP servers)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from tests.support import chart
from tests.support.chart import FULLNAME, NAMESPACE, container_of, find, render, value_set

HOOK_TEMPLATE = "peer-support-bridge/templates/tests/test-connection.yaml"
KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()
WITH_ANSWERS = {"answers": {"enabled": True, "publicUrl": "https://peer-support.example.org"}}


def hooks(values: dict[str, Any]) -> list[dict[str, Any]]:
    text = chart.render_files(values).get(HOOK_TEMPLATE, "")
    return [doc for doc in yaml.safe_load_all(text) if doc]


def the_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (pod,) = [o for o in objects if o["kind"] == "Pod"]
    return pod


def targets(pod: dict[str, Any]) -> dict[str, str]:
    """Component -> the URL the test asks."""
    (container,) = pod["spec"]["containers"]
    return dict(arg.split("=", 1) for arg in container["args"])


def service_behind(url: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The Service a URL reaches: its host is <service>.<namespace>.svc, with the port."""
    parts = urlsplit(url)
    name, namespace, svc = (parts.hostname or "").split(".")
    assert (namespace, svc) == (NAMESPACE, "svc"), url
    service = find(objects, "Service", name)
    assert parts.port in [p["port"] for p in service["spec"]["ports"]], url
    assert parts.path == "/health/ready", url
    return service


@pytest.fixture(scope="module")
def default() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    values = value_set("default")
    return render(values), hooks(values)


def test_every_hook_is_a_test_hook_and_a_valid_object(
    default: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    _, objects = default
    assert sorted(o["kind"] for o in objects) == ["NetworkPolicy", "Pod", "Service"]
    for obj in objects:
        annotations = obj["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "test", chart.kn(obj)
        assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"], chart.kn(obj)
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    weight = {o["kind"]: int(o["metadata"]["annotations"]["helm.sh/hook-weight"]) for o in objects}
    assert weight["Service"] < weight["Pod"] and weight["NetworkPolicy"] < weight["Pod"]
    report = chart.lint(value_set("default"))
    assert not [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]


def test_the_pod_runs_as_the_components_do(
    default: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    release, objects = default
    pod = the_pod(objects)
    (container,) = pod["spec"]["containers"]
    worker = container_of(release, "worker")
    assert container["image"] == worker.spec["image"], "the project's image, no other pulled"
    assert container["command"][:2] == ["python", "-c"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == worker.spec["securityContext"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]["memory"]


def test_asks_ingest_and_the_worker_by_default_through_their_services(
    default: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    release, objects = default
    urls = targets(the_pod(objects))
    assert sorted(urls) == ["ingest", "worker"], "answers is off by default"
    ingest = service_behind(urls["ingest"], release)
    assert ingest["spec"]["selector"]["app.kubernetes.io/component"] == "ingest"
    # the worker has no Service of its own here: the test brings one for its duration
    worker = service_behind(urls["worker"], objects)
    deployment = find(release, "Deployment", f"{FULLNAME}-worker")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert worker["spec"]["selector"].items() <= pod_labels.items()
    port = worker["spec"]["ports"][0]
    assert port["targetPort"] == "http"
    assert port["port"] == container_of(release, "worker").spec["ports"][0]["containerPort"]


def test_with_answers_and_a_service_monitor_uses_the_releases_services() -> None:
    values = chart.deep_merge(value_set("full"), WITH_ANSWERS)
    release, objects = render(values), hooks(values)
    urls = targets(the_pod(objects))
    assert sorted(urls) == ["answers", "ingest", "worker"]
    for component, url in urls.items():
        service = service_behind(url, release)
        assert service["spec"]["selector"]["app.kubernetes.io/component"] == component
    assert not [o for o in objects if o["kind"] == "Service"], "no second worker Service"


def test_network_policy_lets_the_test_pod_reach_each_component(
    default: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    release, objects = default
    (policy,) = [o for o in objects if o["kind"] == "NetworkPolicy"]
    pod_labels = the_pod(objects)["metadata"]["labels"]
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchLabels"].items() <= pod_labels.items()
    (selected,) = policy["spec"]["podSelector"]["matchExpressions"]
    assert sorted(selected["values"]) == ["ingest", "worker"]
    ports = {p["port"] for p in rule["ports"]}
    for component in selected["values"]:
        assert container_of(release, component).spec["ports"][0]["containerPort"] in ports

    open_values = chart.plaintext_kafka({"networkPolicy": {"enabled": False}})
    assert [o["kind"] for o in hooks(open_values) if o["kind"] == "NetworkPolicy"] == []


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ready = self.path == "/health/ready" and self.server is _Health.ready_server
        self.send_response(200 if ready else 503)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass

    ready_server: object = None


@pytest.fixture
def servers() -> Iterator[tuple[int, int]]:
    """A ready component and one that answers 503, on loopback."""
    started = [ThreadingHTTPServer(("127.0.0.1", 0), _Health) for _ in range(2)]
    _Health.ready_server = started[0]
    threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in started]
    for thread in threads:
        thread.start()
    yield started[0].server_port, started[1].server_port
    for server in started:
        server.shutdown()
        server.server_close()


def test_the_check_passes_only_when_every_component_is_ready(
    default: tuple[list[dict[str, Any]], list[dict[str, Any]]], servers: tuple[int, int]
) -> None:
    (container,) = the_pod(default[1])["spec"]["containers"]
    script = container["command"][2]
    ready, not_ready = (f"http://127.0.0.1:{port}/health/ready" for port in servers)

    def check(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, *args],
            env={"READY_WITHIN_S": "0"},  # one try each
            capture_output=True,
            text=True,
            timeout=30,
        )

    passed = check(f"ingest={ready}")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("ingest: ready (HTTP 200")

    started = time.monotonic()
    failed = check(f"ingest={ready}", f"worker={not_ready}")
    assert failed.returncode == 1, failed.stderr
    lines = failed.stdout.splitlines()
    assert lines[0].startswith("ingest: ready")
    assert lines[1].startswith(f"worker: not ready at {not_ready}: HTTP Error 503")
    assert time.monotonic() - started < 5, "past READY_WITHIN_S it stops asking"
