"""The chart's alerts and Grafana dashboard: rendered only when asked for, accepted by the real
promtool, firing when they should (promtool's rule unit tests), and reading only metrics the
bridge's processes serve, of this release only."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from connectors.base.metrics import SinkMetrics
from connectors.ingest.metrics import IngestMetrics
from runtime.metrics import ConsumerLag
from streams.metrics import WorkerMetrics
from tests.support import chart

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed: `make system-deps` installs Debian's prometheus package",
)
RUNBOOK = chart.ROOT / "docs" / "runbook.md"
RUNBOOK_URL = "https://runbooks.hospital.example/peer-support"
WORKER_JOB = f"{chart.FULLNAME}-worker"

MONITORED = chart.plaintext_kafka(
    {
        "metrics": {
            "serviceMonitor": {"enabled": True},
            "prometheusRule": {
                "enabled": True,
                "labels": {"release": "kube-prometheus-stack"},
                "ruleLabels": {"team": "quality-it"},
                "runbookBaseUrl": RUNBOOK_URL + "/",
                "sourceSilenceHours": 3,
            },
            "grafanaDashboard": {"enabled": True, "annotations": {"grafana_folder": "Peer"}},
        },
        "sinks": {"channels": {"sms": {"enabled": True}}},
    }
)


@pytest.fixture(scope="module")
def monitored() -> list[dict[str, Any]]:
    return chart.render(MONITORED)


@pytest.fixture(scope="module")
def rule(monitored: list[dict[str, Any]]) -> dict[str, Any]:
    return chart.find(monitored, "PrometheusRule", chart.FULLNAME)


@pytest.fixture(scope="module")
def dashboard(monitored: list[dict[str, Any]]) -> dict[str, Any]:
    return chart.find(monitored, "ConfigMap", f"{chart.FULLNAME}-dashboard")


def alerts(rule: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


@cache
def served_metrics() -> frozenset[str]:
    """Every series name the worker, the ingest server and a sink serve on /metrics."""
    registries: list[CollectorRegistry] = [
        WorkerMetrics().registry,
        IngestMetrics().registry,
        SinkMetrics().registry,
    ]
    registries[0].register(ConsumerLag(lambda: ()))
    names: set[str] = set()
    for registry in registries:
        for family in registry.collect():
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            names.update(family.name + s for s in suffixes.get(family.type, [""]))
    return frozenset(names)


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bpsb_[a-z_]+", expr))


def test_nothing_rendered_unless_enabled() -> None:
    kinds = {
        chart.kn(o)
        for o in chart.render(
            chart.plaintext_kafka({"metrics": {"serviceMonitor": {"enabled": True}}})
        )
    }
    assert f"PrometheusRule/{chart.FULLNAME}" not in kinds
    assert f"ConfigMap/{chart.FULLNAME}-dashboard" not in kinds


def test_alerts_without_a_service_monitor_are_refused_in_one_line() -> None:
    message = chart.render_error(
        chart.plaintext_kafka({"metrics": {"prometheusRule": {"enabled": True}}})
    )
    assert "metrics.prometheusRule.enabled" in message
    assert "set metrics.serviceMonitor.enabled: true" in message


def test_every_alert_says_how_bad_what_and_where_its_runbook_is(rule: dict[str, Any]) -> None:
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    sections = {
        line.removeprefix("## ").strip().lower()
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("## ")
    }
    names = []
    for alert in alerts(rule):
        names.append(alert["alert"])
        assert alert["labels"]["severity"] in {"critical", "warning"}, alert["alert"]
        assert alert["labels"]["team"] == "quality-it"
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        url, _, anchor = alert["annotations"]["runbook_url"].partition("#")
        assert url == RUNBOOK_URL
        assert anchor == alert["alert"].lower() and anchor in sections, alert["alert"]
    assert set(names) >= {
        "PeerSupportWorkerNotReady",
        "PeerSupportSinkDown",
        "PeerSupportConsumerLagGrowing",
        "PeerSupportDeadLettersGrowing",
        "PeerSupportDeliveriesFailing",
        "PeerSupportDeliveriesRetrying",
        "PeerSupportPolicyReloadRefused",
        "PeerSupportNoReportsFromSource",
    }


def test_alerts_read_only_served_metrics_of_this_release(rule: dict[str, Any]) -> None:
    for alert in alerts(rule):
        expr = alert["expr"]
        assert metric_names(expr) <= served_metrics(), alert["alert"]
        for selector in re.findall(r"\bpsb_[a-z_]+\{([^}]*)\}", expr):
            assert 'namespace="hospital"' in selector and "job=~" in selector, alert["alert"]
            assert WORKER_JOB.removesuffix("-worker") + "-(" in selector, alert["alert"]


@needs_promtool
def test_promtool_accepts_the_rules_and_they_fire_when_they_should(
    rule: dict[str, Any], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    checked = promtool("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    cases = tmp_path / "rules_test.yaml"
    cases.write_text(yaml.safe_dump(unit_tests(rules.name)))
    tested = promtool("test", "rules", str(cases))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False
    )


def series(name: str, job: str = WORKER_JOB, namespace: str = "hospital", **labels: str) -> str:
    every = {"namespace": namespace, "job": job, "instance": "10.0.0.1:6066", **labels}
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in every.items()) + "}"


def unit_tests(rule_file: str) -> dict[str, Any]:
    """Two alerts proven on sample series (one sample a minute)."""
    dead = "psb_dead_letters_total"
    dead_letters = {
        "interval": "1m",
        "input_series": [
            # the first dead letter of its reason: a new series at 1, at minute 10
            {"series": series(dead, reason="invalid-json"), "values": "_x10 1x50"},
            # another release in the namespace, and this release's name in another one
            {
                "series": series(dead, job="other-peer-support-bridge-worker", reason="too-large"),
                "values": "_x10 1x50",
            },
            {"series": series(dead, namespace="clinic", reason="too-large"), "values": "_x10 1x50"},
        ],
        "alert_rule_test": [
            {"eval_time": "5m", "alertname": "PeerSupportDeadLettersGrowing", "exp_alerts": []},
            {
                "eval_time": "15m",
                "alertname": "PeerSupportDeadLettersGrowing",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "severity": "warning",
                            "team": "quality-it",
                            "namespace": "hospital",
                            "reason": "invalid-json",
                        },
                        "exp_annotations": {
                            "summary": "Reports go to a dead-letter topic",
                            "description": "The worker sent records to a dead-letter topic in "
                            "the last 30 minutes (reason invalid-json): those reports made no "
                            "offer.",
                            "runbook_url": f"{RUNBOOK_URL}#peersupportdeadlettersgrowing",
                        },
                    }
                ],
            },
            # no further dead letter for 30 minutes: resolved
            {"eval_time": "45m", "alertname": "PeerSupportDeadLettersGrowing", "exp_alerts": []},
        ],
    }
    heartbeat = "psb_source_last_report_timestamp_seconds"
    no_reports = {
        "interval": "1m",
        "input_series": [
            # no report yet (0) until a report at minute 10; the pod restarts at 2 h and
            # its successor has seen none since
            {"series": series(heartbeat), "values": "0x9 600x110"},
            {"series": series(heartbeat, instance="10.0.0.2:6066"), "values": "_x121 0x200"},
        ],
        "alert_rule_test": [
            {"eval_time": "5m", "alertname": "PeerSupportNoReportsFromSource", "exp_alerts": []},
            {"eval_time": "3h", "alertname": "PeerSupportNoReportsFromSource", "exp_alerts": []},
            {
                "eval_time": "3h20m",
                "alertname": "PeerSupportNoReportsFromSource",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "severity": "warning",
                            "team": "quality-it",
                            "namespace": "hospital",
                        },
                        "exp_annotations": {
                            "summary": "No report from the reporting source for 3 hours",
                            "description": "The last report reached hospital/psb 3h 10m 0s "
                            "ago; the reporting system may have stopped sending.",
                            "runbook_url": f"{RUNBOOK_URL}#peersupportnoreportsfromsource",
                        },
                    }
                ],
            },
        ],
    }
    return {
        "rule_files": [rule_file],
        "evaluation_interval": "1m",
        "tests": [dead_letters, no_reports],
    }


def test_dashboard_is_found_by_grafana_and_reads_this_release(
    dashboard: dict[str, Any], rule: dict[str, Any]
) -> None:
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["metadata"]["annotations"]["grafana_folder"] == "Peer"
    (key, text), *others = dashboard["data"].items()
    assert not others and key == f"hospital-{chart.FULLNAME}.json"
    board = json.loads(text)
    assert re.fullmatch(r"[a-z0-9-]{1,40}", board["uid"])
    assert board["title"] == "Peer support bridge (hospital/psb)"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["namespace"]["query"] == "hospital"
    jobs = variables["job"]["query"]
    assert jobs == f"{chart.FULLNAME}-(worker|ingest|sink-email|sink-sms)"
    lag = next(a for a in alerts(rule) if a["alert"] == "PeerSupportConsumerLagGrowing")
    assert f'job=~"{jobs}"' in lag["expr"]  # the rules select the same series

    titles = [p["title"] for p in board["panels"]]
    assert len(set(titles)) == len(titles) >= 8
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            for source in (panel["datasource"], target["datasource"]):
                assert source == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            names = metric_names(target["expr"])
            assert names and names <= served_metrics(), (panel["title"], names)
            assert target["expr"].count("psb_") == target["expr"].count(
                'namespace="$namespace", job=~"$job"'
            ), panel["title"]


@needs_promtool
def test_promtool_parses_every_dashboard_query(dashboard: dict[str, Any], tmp_path: Path) -> None:
    board = json.loads(next(iter(dashboard["data"].values())))
    variables = {v["name"]: v["query"] for v in board["templating"]["list"]}
    queries = [
        {
            "record": f"dashboard:panel{panel['id']}_{target['refId']}",
            "expr": target["expr"]
            .replace("$namespace", variables["namespace"])
            .replace("$job", variables["job"]),
        }
        for panel in board["panels"]
        for target in panel["targets"]
    ]
    rules = tmp_path / "dashboard.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": queries}]}))
    checked = promtool("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_two_releases_get_two_dashboards() -> None:
    values = chart.deep_merge(MONITORED, {"metrics": {"prometheusRule": {"enabled": False}}})
    first, second = (
        chart.find(chart.render(values, release=release), "ConfigMap", f"{release}-dashboard")
        for release in ("psb-peer-support-bridge", "ward-peer-support-bridge")
    )
    board_of = {json.loads(next(iter(cm["data"].values())))["uid"] for cm in (first, second)}
    assert len(board_of) == 2
    assert len({next(iter(cm["data"])) for cm in (first, second)}) == 2
