"""Environment parity: every setting the code reads (every variable of every registered settings
class) can be set from the chart's values, and the chart sets nothing the code does not read.

A setting is reachable when the chart, rendered with every component, channel and secret
route switched on, gives some container an environment variable of that name: from a
`config` map, a `secretEnv` map, or derived by the chart (kafka.*, ports, mounted files).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from runtime.settings_doc import Variable, variables
from tests.support import chart
from tests.support.chart import CHART, containers, render, value_set

VALUES_FILE = CHART.relative_to(chart.ROOT) / "values.yaml"

# Settings the chart deliberately does not offer, each with the reason.
NOT_CHART_MANAGED: dict[str, str] = {
    "PSB_KAFKA_EMBEDDED_BROKER_QUIRKS": "for the embedded broker only; clusters run Kafka",
}

# Settings the chart already sets for processes whose code is being written in parallel
# (issue 5 ingest, issue 3 sinks, issue 4 policy, issue 7 answers). Each entry goes when the
# code declares the setting; the test below says so.
AHEAD_OF_CODE: dict[str, str] = {}

CHANNEL_PREFIXES = {
    "PSB_SMTP_": "email",
    "PSB_EMAIL_": "email",
    "PSB_SMS_": "sms",
    "PSB_TEAMS_": "teams",
    "PSB_SLACK_": "slack",
    "PSB_WEBHOOK_": "webhook",
}


def everything_on(chart_dir: Path = CHART) -> dict[str, Any]:
    return chart.with_every_secret_reference(value_set("full"), chart_dir)


def reachable_variables(chart_dir: Path = CHART) -> set[str]:
    """Set by the chart with everything on, or with the Kafka mechanism that excludes the
    password ones (OAUTHBEARER)."""
    oauth = chart.deep_merge(everything_on(chart_dir), value_set("oauthbearer"))
    return rendered_variables(render(everything_on(chart_dir), chart_dir)) | rendered_variables(
        render(oauth, chart_dir)
    )


def rendered_variables(objects: list[dict[str, Any]]) -> set[str]:
    return {name for container in containers(objects) for name in container.env}


def suggested_scope(name: str) -> str:
    """Where a new setting most likely belongs in values.yaml, by its prefix."""
    for prefix, channel in CHANNEL_PREFIXES.items():
        if name.startswith(prefix):
            return f"sinks.channels.{channel}"
    for prefix, scope in [
        ("PSB_WORKER_", "worker"),
        ("PSB_INGEST_", "ingest"),
        ("PSB_ANSWERS_", "answers"),
        ("PSB_SINK_", "sinks"),
    ]:
        if name.startswith(prefix):
            return scope
    return "(top level)"


def yaml_scalar(default: str) -> str:
    """The code's default (as settings_doc shows it) as a values.yaml scalar."""
    if default.startswith("("):  # required: no default to copy
        return '""'
    if default in {"True", "False"}:
        return default.lower()
    if default.lstrip("-").isdigit():
        return default
    return yaml.safe_dump(default, default_flow_style=True).splitlines()[0]


def how_to_add(variable: Variable, owner: str) -> str:
    scope = suggested_scope(variable.name)
    dotted = "" if scope == "(top level)" else f"{scope}."
    if variable.secret:
        key = variable.name.lower().removeprefix("psb_").replace("_", "-")
        entry = f'{variable.name}: {{name: "", key: {key}}}'
        where = f"{dotted}secretEnv"
    else:
        entry = f"{variable.name}: {yaml_scalar(variable.default)}"
        where = f"{dotted}config"
    return (
        f"  {variable.name} (declared in {owner}) is not reachable from the chart's values.\n"
        f"    Add under `{where}` in {VALUES_FILE}:\n"
        f"      ## @param {where}.{variable.name} {variable.description}\n"
        f"      {entry}\n"
        f"    then run `make chart-docs` (or, if the chart should not manage it, list it in "
        f"NOT_CHART_MANAGED in {__name__.replace('.', '/')}.py with the reason)"
    )


def owners() -> dict[str, str]:
    from runtime.settings_doc import registered_settings

    found = {}
    for cls in registered_settings():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field in cls.model_fields:
            found[f"{prefix}{field}".upper()] = f"{cls.__module__}.{cls.__qualname__}"
    return found


def unreachable(chart_dir: Path = CHART) -> list[str]:
    """One instruction per declared setting the chart cannot set."""
    reachable = reachable_variables(chart_dir)
    declared = owners()
    return [
        how_to_add(variable, declared[variable.name])
        for variable in variables()
        if variable.name not in reachable and variable.name not in NOT_CHART_MANAGED
    ]


def test_every_setting_of_the_code_is_reachable_from_values() -> None:
    missing = unreachable()
    assert not missing, "\n" + "\n".join(missing)


def test_the_chart_sets_only_settings_the_code_reads() -> None:
    declared = {v.name for v in variables()}
    chart_sets = {n for n in reachable_variables() if n.startswith("PSB_")}
    unknown = sorted(chart_sets - declared - set(AHEAD_OF_CODE))
    assert not unknown, (
        f"the chart sets {unknown}, which no settings class declares: a typo, a removed "
        f"setting, or one whose code is not merged yet (then list it in AHEAD_OF_CODE)"
    )
    arrived = sorted(set(AHEAD_OF_CODE) & declared)
    assert not arrived, f"{arrived} are declared by the code now: remove them from AHEAD_OF_CODE"
    stale = sorted(set(NOT_CHART_MANAGED) - declared)
    assert not stale, f"{stale} are no longer declared: remove them from NOT_CHART_MANAGED"


def config_entries(values: dict[str, Any], kind: str = "config") -> Iterable[tuple[str, str, Any]]:
    """(scope, variable, value) of every `config` (or `secretEnv`) map in values."""
    scopes = {kind: values[kind]}
    for key in ["worker", "ingest", "answers", "sinks", "directorySync"]:
        scopes[f"{key}.{kind}"] = values[key][kind]
    for channel, sink in values["sinks"]["channels"].items():
        scopes[f"sinks.channels.{channel}.{kind}"] = sink[kind]
    for scope, config in scopes.items():
        for name, value in config.items():
            yield scope, name, value


def test_chart_defaults_are_the_codes_defaults() -> None:
    """A default written into values.yaml would silently override the code's: keep them equal."""
    defaults = {v.name: v.default for v in variables()}
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    differing = [
        f"{scope}.{name}: values.yaml says {value!r}, the code says {defaults[name]!r}"
        for scope, name, value in config_entries(values)
        if name in defaults and str(value) != defaults[name]
    ]
    assert not differing, "\n".join(differing)
    unknown = [
        f"{scope}.{name}" for scope, name, _ in config_entries(values) if name not in defaults
    ]
    assert not unknown, f"values.yaml sets settings no code declares: {unknown}"


def test_a_setting_the_code_declares_but_the_chart_lacks_is_named(tmp_path: Path) -> None:
    """With one setting's line taken out of values.yaml, the parity check names exactly that
    setting, and says where to add it."""
    copy = tmp_path / "peer-support-bridge"
    shutil.copytree(CHART, copy)
    values_file = copy / "values.yaml"
    lines = values_file.read_text().splitlines(keepends=True)
    values_file.write_text("".join(line for line in lines if "PSB_WORKER_BATCH_SIZE" not in line))
    (message,) = unreachable(copy)
    assert "PSB_WORKER_BATCH_SIZE (declared in runtime.settings.WorkerSettings)" in message
    assert "Add under `worker.config`" in message
    assert "      PSB_WORKER_BATCH_SIZE: 500\n" in message
    secret = Variable("PSB_SMTP_PASSWORD", "", "SMTP password (secret).", secret=True)
    assert "sinks.channels.email.secretEnv" in how_to_add(secret, "connectors.email.SmtpSettings")
    assert '{name: "", key: smtp-password}' in how_to_add(secret, "connectors.email.SmtpSettings")


def test_chart_managed_settings_cannot_be_set_twice() -> None:
    """What the chart derives (kafka.*, ports, mounts) is refused in `config`, naming the key
    that sets it, so every setting has exactly one place in values."""
    values = everything_on()
    merged = chart.merged_values(values)
    from_maps = {name for _, name, _ in config_entries(merged)}
    from_maps |= {name for _, name, _ in config_entries(merged, "secretEnv")}
    derived = rendered_variables(render(values)) - from_maps
    assert {"PSB_KAFKA_BOOTSTRAP_SERVERS", "PSB_WORKER_WEB_PORT", "PSB_SECRETS_DIR"} <= derived
    for name in sorted(derived):
        message = chart.render_error({"worker": {"config": {name: "1"}}})
        assert f"worker.config.{name}:" in message and "set that instead" in message, name
