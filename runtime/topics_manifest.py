"""The topics of :mod:`runtime.topics` as a YAML list the Helm chart reads to render Strimzi
``KafkaTopic`` resources, so the chart never keeps a second copy of names and retention.

``python -m runtime.topics_manifest FILE`` writes it (``make chart-docs`` does); a test
fails when the file and the code differ."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from runtime.topics import Topics

HEADER = (
    "# Generated from runtime/topics.py by `make chart-docs`; do not edit.\n"
    "# templates/kafkatopics.yaml renders one Strimzi KafkaTopic per entry, prefixed with\n"
    "# kafka.topicPrefix; incident-reports takes its retention from kafka.reportsRetentionHours.\n"
)


def manifest() -> list[dict[str, Any]]:
    topics = Topics()
    entries = []
    for spec in topics.specs():
        config = spec.topic_config()
        entry: dict[str, Any] = {"name": spec.name}
        if spec.name == topics.incident_reports:
            config.pop("retention.ms", None)
            entry["reportsRetention"] = True
        entry["config"] = config
        entries.append(entry)
    return entries


def render() -> str:
    return HEADER + yaml.safe_dump(manifest(), sort_keys=False)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m runtime.topics_manifest FILE", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
