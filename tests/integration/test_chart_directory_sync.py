"""The chart's optional directory-sync CronJob, rendered by the real Helm engine."""

from __future__ import annotations

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
    assert not [o for o in render({}) if o["kind"] == "CronJob"]
