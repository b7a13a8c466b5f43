"""``peer-support directory sync-ldap`` against a real OpenLDAP server and the real broker:
the first sync loads everyone, a change emits one update, a deleted person a tombstone, and
an unreachable server is retried until it answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connectors.directory.topic import read_latest
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Channel, StaffProfile
from tests.support.ldap import ROOT_DN, ROOT_PASSWORD, SUFFIX, Slapd, require_slapd
from tools.kafka import TopicReader, produce_keyed

PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"

SEED = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example trust
dc: example

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

dn: {GROUPS}
objectClass: organizationalUnit
ou: groups

dn: uid=boss,{PEOPLE}
objectClass: inetOrgPerson
uid: boss
cn: Berit Leder
sn: Leder
displayName: Berit Leder
title: Avdelingsleder
departmentNumber: MED-3
mail: berit.leder@sykehus.example

dn: uid=kari,{PEOPLE}
objectClass: inetOrgPerson
uid: kari
cn: Kari Nordmann
sn: Nordmann
displayName: Kari Nordmann
title: Sykepleier
departmentNumber: MED-3
manager: uid=boss,{PEOPLE}
mail: kari.nordmann@sykehus.example
mobile: 912 34 567
preferredLanguage: nb-NO

dn: uid=per,{PEOPLE}
objectClass: inetOrgPerson
uid: per
cn: Per Hansen
sn: Hansen
displayName: Per Hansen
departmentNumber: Akutt mottak
manager: uid=boss,{PEOPLE}
mobile: +47 400 00 001
preferredLanguage: nn

dn: uid=aisha,{PEOPLE}
objectClass: inetOrgPerson
uid: aisha
cn: Aisha Khan
sn: Khan
title: Helsefagarbeider
departmentNumber: ORT-2
mail: aisha.khan@sykehus.example
preferredLanguage: en

dn: cn=leger,{GROUPS}
objectClass: groupOfNames
cn: leger
member: uid=per,{PEOPLE}
"""


def sync_env(
    kafka: KafkaSettings, url: str, secrets: Path, cleartext: bool = True
) -> dict[str, str]:
    """``cleartext``: the test directory listens on plain ldap://, so the password may
    cross loopback in clear text (tests/integration/test_attack_ldap.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSB_")}
    if cleartext:
        env["PSB_LDAP_ALLOW_CLEARTEXT_BIND"] = "true"
    secrets.mkdir(exist_ok=True)
    (secrets / "psb_ldap_bind_password").write_text(ROOT_PASSWORD)
    env.update(
        {
            "PSB_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "PSB_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "PSB_SECRETS_DIR": str(secrets),
            "PSB_LDAP_URL": url,
            "PSB_LDAP_BIND_DN": ROOT_DN,
            "PSB_LDAP_BASE_DN": PEOPLE,
            "PSB_LDAP_FILTER": "(objectClass=inetOrgPerson)",
            "PSB_LDAP_REF_ATTRIBUTE": "uid",
            "PSB_LDAP_UNIT_ATTRIBUTE": "departmentNumber",
            "PSB_LDAP_PROFESSION_MAP": json.dumps(
                {"sykepleier": "nurse", "Helsefagarbeider": "health-care-worker"}
            ),
            "PSB_LDAP_PROFESSION_GROUPS": json.dumps({f"cn=leger,{GROUPS}": "physician"}),
            "PSB_LDAP_DEFAULT_PROFESSION": "other",
            "PSB_LDAP_UNIT_MAP": json.dumps({"Akutt mottak": "AKM"}),
            "PSB_LDAP_RETRY_INITIAL_S": "0.2",
            "PSB_LDAP_RETRY_MAX_S": "0.5",
            "PSB_LDAP_RETRY_ATTEMPTS": "3",
            "PSB_LDAP_TIMEOUT_S": "2",
        }
    )
    return env


def sync(env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peer_support", "directory", "sync-ldap", "--once"],
        capture_output=True,
        text=True,
        env={**env, **extra},
        timeout=120,
        check=False,
    )


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    require_slapd()
    server = Slapd(tmp_path / "slapd").start()
    server.ldif(SEED)
    yield server
    server.stop()


def test_sync_loads_everyone_then_only_changes_and_leavers(
    slapd: Slapd, kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    topic = Topics(kafka.topic_prefix).staff_directory
    env = sync_env(kafka, slapd.url, tmp_path / "secrets")
    reader = TopicReader(kafka, [topic])

    first = sync(env)
    assert first.returncode == 0, first.stderr
    assert "4 new, 0 changed, 0 removed, 0 unchanged" in first.stdout
    reader.poll_until(lambda messages: len(messages) >= 4, timeout=30)
    entries = {
        ref: StaffProfile.model_validate_json(raw) for ref, raw in read_latest(kafka, topic).items()
    }
    assert sorted(entries) == ["aisha", "boss", "kari", "per"]
    kari, per = entries["kari"], entries["per"]
    assert (kari.profession.value, kari.unit_code, kari.manager_ref) == ("nurse", "MED-3", "boss")
    assert [(p.channel, p.address) for p in kari.channels] == [
        (Channel.EMAIL, "kari.nordmann@sykehus.example"),
        (Channel.SMS, "+4791234567"),
    ]
    assert (per.profession.value, per.unit_code, per.language.value) == ("physician", "AKM", "nn")
    assert entries["boss"].profession.value == "other"
    assert entries["aisha"].profession.value == "health-care-worker"
    # the log says what happened in counts, never who
    assert "Nordmann" not in first.stderr and "sykehus.example" not in first.stderr

    slapd.ldif(
        f"dn: uid=kari,{PEOPLE}\nchangetype: modify\nreplace: mobile\nmobile: +4798765432\n",
        command="ldapmodify",
    )
    second = sync(env)
    assert second.returncode == 0, second.stderr
    assert "0 new, 1 changed, 0 removed, 3 unchanged" in second.stdout
    reader.read_to_end()  # the sync ended: what it wrote is acknowledged
    assert len(reader.messages) == 5
    changed = reader.messages[-1]
    assert changed.key() == b"kari"
    assert StaffProfile.model_validate_json(changed.value()).channels[1].address == "+4798765432"

    slapd.ldif(f"uid=aisha,{PEOPLE}\n", command="ldapdelete")
    third = sync(env)
    assert third.returncode == 0, third.stderr
    assert "0 new, 0 changed, 1 removed, 3 unchanged" in third.stdout
    reader.read_to_end()
    assert len(reader.messages) == 6
    assert (reader.messages[-1].key(), reader.messages[-1].value()) == (b"aisha", None)
    reader.close()


def test_an_unreachable_server_is_retried_until_it_answers(
    slapd: Slapd, kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    env = sync_env(kafka, slapd.url, tmp_path / "secrets")
    slapd.stop()

    given_up = sync(env)
    assert given_up.returncode == 3
    assert given_up.stderr.count("ldap server not reachable, retrying") == 2
    assert "ldap sync failed" in given_up.stderr

    log = tmp_path / "sync.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "peer_support", "directory", "sync-ldap", "--once"],
            env={**env, "PSB_LDAP_RETRY_ATTEMPTS": "100"},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    deadline = time.monotonic() + 30
    while "ldap server not reachable, retrying" not in log.read_text():
        assert time.monotonic() < deadline and process.poll() is None, log.read_text()
        time.sleep(0.1)
    slapd.start()  # the same port and database
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 0, log.read_text()
    assert "4 new" in stdout


def test_ldaps_and_starttls_verify_the_server_against_the_ca_file(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    require_slapd()
    server = Slapd(tmp_path / "slapd", tls=True).start()
    try:
        server.ldif(SEED)
        kafka = kafka_factory()
        assert server.ldaps_url is not None and server.ca_file is not None
        env = sync_env(kafka, server.ldaps_url, tmp_path / "secrets", cleartext=False)

        untrusted = sync(env)  # the system's CAs do not know the test CA: not retried
        assert untrusted.returncode == 3, untrusted.stderr
        assert "server certificate not trusted" in untrusted.stderr
        assert "retrying" not in untrusted.stderr

        ldaps = sync(env, PSB_LDAP_CA_FILE=str(server.ca_file))
        assert ldaps.returncode == 0, ldaps.stderr
        assert "4 new" in ldaps.stdout

        starttls = sync(
            env,
            PSB_LDAP_URL=server.url,
            PSB_LDAP_START_TLS="true",
            PSB_LDAP_CA_FILE=str(server.ca_file),
        )
        assert starttls.returncode == 0, starttls.stderr
        assert "0 new, 0 changed, 0 removed, 4 unchanged" in starttls.stdout
    finally:
        server.stop()


def test_the_running_sync_picks_up_a_change_on_its_next_round(
    slapd: Slapd, kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    env = sync_env(kafka, slapd.url, tmp_path / "secrets")
    reader = TopicReader(kafka, [Topics(kafka.topic_prefix).staff_directory])
    process = subprocess.Popen(
        [sys.executable, "-m", "peer_support", "directory", "sync-ldap"],
        env={**env, "PSB_LDAP_INTERVAL_S": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        reader.poll_until(lambda messages: len(messages) >= 4, timeout=30)
        slapd.ldif(
            f"dn: uid=per,{PEOPLE}\nchangetype: modify\nreplace: departmentNumber\n"
            "departmentNumber: MED-3\n",
            command="ldapmodify",
        )
        reader.poll_until(lambda messages: len(messages) >= 5, timeout=30, idle=2.5)
    finally:
        process.terminate()
        process.wait(timeout=10)
        reader.close()
    assert [m.key() for m in reader.messages[4:]] == [b"per"]
    assert StaffProfile.model_validate_json(reader.messages[4].value()).unit_code == "MED-3"


def test_an_opt_out_is_kept_and_an_empty_result_removes_no_one(
    slapd: Slapd, kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    kafka = kafka_factory()
    topic = Topics(kafka.topic_prefix).staff_directory
    env = sync_env(kafka, slapd.url, tmp_path / "secrets")
    assert sync(env).returncode == 0
    kari = StaffProfile.model_validate_json(read_latest(kafka, topic)["kari"])
    opted_out = kari.model_copy(update={"opted_out": True}).model_dump_json()
    produce_keyed(kafka, topic, [("kari", opted_out)])  # she said no to all messages

    again = sync(env)
    assert again.returncode == 0, again.stderr
    assert "0 new, 0 changed, 0 removed, 4 unchanged" in again.stdout
    assert StaffProfile.model_validate_json(read_latest(kafka, topic)["kari"]).opted_out

    mistyped = sync(env, PSB_LDAP_FILTER="(objectClass=inetOrgPersn)")
    assert mistyped.returncode == 0, mistyped.stderr
    assert "0 removed" in mistyped.stdout
    assert "ldap returned nobody; nothing removed" in mistyped.stderr
    assert sorted(read_latest(kafka, topic)) == ["aisha", "boss", "kari", "per"]
