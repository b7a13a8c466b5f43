"""The LDAP sync never sends its bind password in clear text unless told to: over ldap://
without StartTLS it stops before connecting, in one line naming the setting that allows it.
Real slapd, logging every bind with its security strength factor (ssf 0: clear text)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from runtime.settings import KafkaSettings
from tests.integration.test_directory_ldap import SEED, sync, sync_env
from tests.support.ldap import ROOT_PASSWORD, Slapd, require_slapd


def new_binds(server: Slapd, before: int, expected: int) -> list[int]:
    """The ssf of each bind after the first ``before`` (slapd writes its log as it goes)."""
    deadline = time.monotonic() + 5
    while True:
        strengths = [
            int(found.group(1))
            for line in server.binds()[before:]
            if (found := re.search(r" mech=\S+ bind_ssf=\d+ ssf=(\d+)", line))
        ]
        if len(strengths) >= expected or time.monotonic() > deadline:
            return strengths
        time.sleep(0.1)


def test_a_bind_password_never_crosses_the_network_in_clear_text_unless_allowed(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    require_slapd()
    server = Slapd(tmp_path / "slapd", tls=True, stats=True).start()
    try:
        server.ldif(SEED)
        assert server.ca_file is not None
        env = sync_env(kafka_factory(), server.url, tmp_path / "secrets", cleartext=False)
        before = len(server.binds())

        refused = sync(env)
        assert refused.returncode == 2, refused.stderr
        assert refused.stdout == ""
        assert refused.stderr.splitlines() == [
            "error: PSB_LDAP_*: the bind password would cross the network in clear text "
            "(ldap:// without StartTLS): use ldaps:// or PSB_LDAP_START_TLS=true, or accept "
            "it with PSB_LDAP_ALLOW_CLEARTEXT_BIND=true"
        ]
        assert ROOT_PASSWORD not in refused.stderr
        time.sleep(0.5)
        assert server.binds()[before:] == []  # refused before any connection

        starttls = sync(env, PSB_LDAP_START_TLS="true", PSB_LDAP_CA_FILE=str(server.ca_file))
        assert starttls.returncode == 0, starttls.stderr
        assert "4 new" in starttls.stdout
        encrypted = new_binds(server, before, 1)
        assert encrypted and all(ssf > 0 for ssf in encrypted), encrypted
        before = len(server.binds())

        allowed = sync(env, PSB_LDAP_ALLOW_CLEARTEXT_BIND="true")  # said so, in so many words
        assert allowed.returncode == 0, allowed.stderr
        assert "4 unchanged" in allowed.stdout
        assert new_binds(server, before, 1) == [0]
    finally:
        server.stop()


def test_an_anonymous_bind_over_ldap_needs_no_allowance(
    kafka_factory: Callable[..., KafkaSettings], tmp_path: Path
) -> None:
    """No password, nothing to disclose: a directory that lets anyone read is not refused
    (slapd allows anonymous reads by default)."""
    require_slapd()
    server = Slapd(tmp_path / "slapd").start()
    try:
        server.ldif(SEED)
        env = sync_env(kafka_factory(), server.url, tmp_path / "secrets", cleartext=False)
        anonymous = {k: v for k, v in env.items() if k not in ("PSB_LDAP_BIND_DN",)}
        anonymous.pop("PSB_SECRETS_DIR")
        result = sync(anonymous)
        assert result.returncode == 0, result.stderr
        assert "4 new" in result.stdout
    finally:
        server.stop()
