"""Render the Helm chart with the real Helm engine (helm-python-sdk embeds Helm's Go SDK, so
no `helm` binary and no network are needed) and look at what it produced."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "peer-support-bridge"
VALUE_SETS = CHART / "ci"
RELEASE, NAMESPACE = "psb", "hospital"
FULLNAME = f"{RELEASE}-peer-support-bridge"

WORKLOAD_KINDS = {"Deployment", "Job", "CronJob"}


@cache
def _chart(path: Path = CHART) -> helm.Chart:
    return helm.Chart.load(path)


# The chart's defaults leave Kafka without TLS, which installs only when said so: a plain
# `helm install` chooses between kafka.tls and this flag (the chart README's "Security
# defaults"). Tests about anything else start from this choice.
PLAINTEXT_KAFKA: dict[str, Any] = {"security": {"allowInsecure": {"kafkaPlaintext": True}}}


def deep_merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Values files layered as `helm -f a -f b` layers them: maps merge, the rest is replaced."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = deep_merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
    return merged


def plaintext_kafka(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """`values` on the chart's default plaintext Kafka, allowed (values win where they say)."""
    return deep_merge(PLAINTEXT_KAFKA, values or {})


def value_set(name: str) -> dict[str, Any]:
    """A values file of the chart's `ci/` folder (`minimal`, `full`, ...); `default` is the
    chart's defaults with their plaintext Kafka allowed (the one choice a plain install makes)."""
    if name == "default":
        return plaintext_kafka()
    loaded: dict[str, Any] = yaml.safe_load((VALUE_SETS / f"{name}-values.yaml").read_text())
    return loaded


def value_set_names() -> list[str]:
    return ["default", *sorted(p.name.removesuffix("-values.yaml") for p in VALUE_SETS.iterdir())]


def render_files(
    values: dict[str, Any], chart_dir: Path = CHART, release: str = RELEASE
) -> dict[str, str]:
    """Template path -> rendered text, as `helm template`/`helm install` would produce."""
    return _chart(chart_dir).render(copy.deepcopy(values), name=release, namespace=NAMESPACE)


def render(
    values: dict[str, Any], chart_dir: Path = CHART, release: str = RELEASE
) -> list[dict[str, Any]]:
    """Every Kubernetes object the release installs: NOTES.txt and the `helm test` hooks
    (templates/tests/, created only by `helm test`) left out."""
    objects: list[dict[str, Any]] = []
    for path, text in sorted(render_files(values, chart_dir, release).items()):
        if path.endswith("NOTES.txt") or "/templates/tests/" in path:
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def render_error(values: dict[str, Any]) -> str:
    """The message Helm stops with for these values (AssertionError if it renders)."""
    try:
        render_files(values)
    except helm.HelmError as exc:
        return str(exc)
    raise AssertionError(f"the chart rendered values it should refuse: {values}")


def notes(values: dict[str, Any]) -> str:
    return render_files(values)["peer-support-bridge/templates/NOTES.txt"]


def merged_values(values: dict[str, Any], chart_dir: Path = CHART) -> dict[str, Any]:
    return _chart(chart_dir).merge_values(copy.deepcopy(values))


def validate_schema(values: dict[str, Any]) -> None:
    _chart().validate_schema(copy.deepcopy(values))


def lint(values: dict[str, Any]) -> dict[str, Any]:
    return helm.lint(CHART, copy.deepcopy(values), strict=True, namespace=NAMESPACE)


@dataclass(frozen=True)
class Container:
    workload: dict[str, Any]
    pod: dict[str, Any]
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.workload['kind']}/{self.workload['metadata']['name']}/{self.spec['name']}"

    @property
    def env(self) -> dict[str, dict[str, Any]]:
        return {entry["name"]: entry for entry in self.spec.get("env", [])}

    def literal(self, variable: str) -> str | None:
        entry = self.env.get(variable)
        return None if entry is None else entry.get("value")

    def mount_for(self, path: str) -> dict[str, Any] | None:
        """The volume mount whose directory holds `path`."""
        for mount in self.spec.get("volumeMounts", []):
            if path == mount["mountPath"] or path.startswith(mount["mountPath"].rstrip("/") + "/"):
                return dict(mount)
        return None

    def volume(self, name: str) -> dict[str, Any]:
        return next(v for v in self.pod["spec"].get("volumes", []) if v["name"] == name)


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in WORKLOAD_KINDS]


def containers(objects: list[dict[str, Any]]) -> Iterator[Container]:
    for workload in workloads(objects):
        outer = workload["spec"]  # a CronJob's pod is one level further down
        pod = (
            outer["jobTemplate"]["spec"]["template"]
            if "jobTemplate" in outer
            else outer["template"]
        )
        for spec in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
            yield Container(workload, pod, spec)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert matches, f"no {kind} {name} rendered; got {[kn(o) for o in objects]}"
    return matches[0]


def kn(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def container_of(objects: list[dict[str, Any]], component: str) -> Container:
    return container_of_release(objects, FULLNAME, component)


def container_of_release(objects: list[dict[str, Any]], fullname: str, component: str) -> Container:
    name = f"{fullname}-{component}"
    for container in containers(objects):
        if container.workload["metadata"]["name"] == name:
            return container
    raise AssertionError(f"no workload {name}")


def with_every_secret_reference(values: dict[str, Any], chart_dir: Path = CHART) -> dict[str, Any]:
    """`values` with every `secretEnv` entry of the chart's defaults given a Secret name, so
    entries that default to an empty name are rendered too."""
    merged = merged_values(values, chart_dir)

    def fill(node: Any) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                if key == "secretEnv" and isinstance(child, dict):
                    for ref in child.values():
                        ref["name"] = ref.get("name") or "parity-secret"
                else:
                    fill(child)

    fill(merged)
    return merged
