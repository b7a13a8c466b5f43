"""docs/channels.md works as written: its values example, layered over docs/deploy.md's
my-values.yaml as the page says, renders, and each enabled channel's sink gets the settings
the example gives it, secrets from Secrets."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.support import chart

DOCS = Path(__file__).resolve().parents[2] / "docs"
SECTION = (DOCS / "channels.md").read_text()
(DEPLOY_VALUES,) = re.findall(
    r"```yaml\n(# my-values\.yaml.*?)```", (DOCS / "deploy.md").read_text(), re.DOTALL
)


def test_the_channels_values_example_renders_with_secrets_from_secrets() -> None:
    (text,) = re.findall(r"```yaml\n(# channels-values\.yaml.*?)```", SECTION, re.DOTALL)
    values = yaml.safe_load(text)
    layered = chart.deep_merge(yaml.safe_load(DEPLOY_VALUES), values)
    chart.validate_schema(chart.merged_values(layered))
    objects = chart.render(layered)
    for channel, sink in values["sinks"]["channels"].items():
        container = chart.container_of(objects, f"sink-{channel}")
        assert container.spec["args"][-2:] == ["sink", channel]
        env = {e["name"]: e for e in container.spec.get("env", [])}
        for name in sink.get("config", {}):
            assert "value" in env[name], name
        for name, ref in sink.get("secretEnv", {}).items():
            assert env[name]["valueFrom"]["secretKeyRef"] == {
                "name": ref["name"],
                "key": ref["key"],
            }, name
        assert "PSB_ANSWERS_SECRET" in env and "PSB_TEMPLATES_DIR" in env


def test_every_channel_setting_prefix_is_documented() -> None:
    for prefix in ["PSB_SMTP_", "PSB_TEAMS_", "PSB_SLACK_", "PSB_SMS_", "PSB_WEBHOOK_"]:
        assert f"`{prefix}*`" in SECTION, prefix
