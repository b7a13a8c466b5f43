"""The chart's optional directory-sync CronJob, rendered by the real Helm engine."""

from __future__ import annotations

from tests.support import chart
from tests.support.chart import FULLNAME, container_of, find, render, value_set


def test_the_sync_cronjob_runs_once_per_schedule_with_its_ldap_settings_only() -> None:
    objects = render(value_set("full"))
    cronjob = find(objects, "CronJob", f"{FULLNAME}-directory-sync")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    sync = container_of(objects, "directory-sync")
    assert sync.spec["args"] == ["directory", "sync-ldap", "--once"]
    assert sync.literal("PSB_LDAP_URL") == "ldaps://ad.hf-vest.example:636"
    assert sync.literal("PSB_LDAP_PROFESSION_MAP") == '{"Lege": "physician", "Sykepleier": "nurse"}'
    assert sync.env["PSB_LDAP_BIND_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "peer-support-ldap",
        "key": "bind-password",
    }
    assert sync.literal("PSB_KAFKA_BOOTSTRAP_SERVERS") == "kafka.kafka.svc:9093"
    assert sync.mount_for("/var/run/secrets/peer-support/ldap-ca.pem") is not None
    assert "PSB_PSEUDONYM_KEY" not in sync.env  # it never sees a report
    assert not any(name.startswith("PSB_LDAP_") for name in container_of(objects, "worker").env)


def test_the_sync_cronjob_is_off_by_default() -> None:
    assert not [o for o in render(value_set("default")) if o["kind"] == "CronJob"]


def test_the_bind_password_as_a_plain_setting_is_refused() -> None:
    """The sync's config map is checked like every other: its secret would otherwise be a
    literal env value of the CronJob."""
    values = value_set("full")
    values["directorySync"]["config"]["PSB_LDAP_BIND_PASSWORD"] = "hunter2-do-not-render"
    message = chart.render_error(values)
    assert (
        "directorySync.config.PSB_LDAP_BIND_PASSWORD: PSB_LDAP_BIND_PASSWORD is a secret and "
        "never goes into a plain value; reference an existing Secret with "
        "directorySync.secretEnv.PSB_LDAP_BIND_PASSWORD: {name: <secret>, key: <key>}"
    ) in message
    assert "hunter2" not in message
    at_the_top = value_set("full")
    at_the_top["config"]["PSB_LDAP_BIND_PASSWORD"] = "hunter2-do-not-render"
    assert "config.PSB_LDAP_BIND_PASSWORD: PSB_LDAP_BIND_PASSWORD is a secret" in (
        chart.render_error(at_the_top)
    )


def test_a_cleartext_bind_installs_only_when_allowed() -> None:
    values = value_set("full")
    values["directorySync"]["config"]["PSB_LDAP_URL"] = "ldap://dc1.hf-vest.example"
    message = chart.render_error(values)
    assert "directorySync.config.PSB_LDAP_URL: the directory sync binds to an ldap:// server" in (
        message
    )
    assert "security.allowInsecure.ldapPlaintext: true" in message
    values["directorySync"]["config"]["PSB_LDAP_START_TLS"] = True
    assert container_of(render(values), "directory-sync").literal("PSB_LDAP_START_TLS") == "true"
    values["directorySync"]["config"]["PSB_LDAP_START_TLS"] = False
    values["security"] = {"allowInsecure": {"ldapPlaintext": True}}
    assert "  - ldapPlaintext (directorySync.config.PSB_LDAP_URL): " in chart.notes(values)
