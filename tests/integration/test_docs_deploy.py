"""docs/deploy.md works as written: its values file renders, and the names its commands use
are the ones the chart creates."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.support import chart

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE, re.DOTALL)


def test_the_values_file_renders_and_the_commands_name_what_the_chart_creates() -> None:
    (values_text,) = [b for b in blocks("yaml") if b.startswith("# my-values.yaml")]
    values = yaml.safe_load(values_text)
    chart.validate_schema(chart.merged_values(values))
    objects = chart.render(values, release="peer-support-bridge")
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    commands = "\n".join(blocks("sh"))
    assert "helm install peer-support-bridge deploy/helm/peer-support-bridge" in commands
    for deployment in re.findall(r"deploy/(peer-support-bridge-[a-z-]+)", commands):
        assert ("Deployment", deployment) in names, deployment
    referenced = set()
    for obj in chart.workloads(objects):
        pod = obj["spec"]["template"]["spec"]
        for container in pod["containers"]:
            for entry in container.get("env", []):
                if "secretKeyRef" in entry.get("valueFrom", {}):
                    referenced.add(entry["valueFrom"]["secretKeyRef"]["name"])
        for volume in pod.get("volumes", []):
            for source in volume.get("projected", {}).get("sources", []):
                referenced.add(source["secret"]["name"])
    created = set(re.findall(r"create secret generic ([a-z0-9-]+)", commands))
    assert referenced <= created, (
        f"Secrets the pods need but docs/deploy.md does not create: {referenced - created}"
    )
    worker = chart.container_of_release(objects, "peer-support-bridge", "worker")
    port = worker.spec["ports"][0]["containerPort"]
    assert f"port-forward deploy/peer-support-bridge-worker {port}" in commands
