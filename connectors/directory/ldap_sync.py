"""Syncing the staff directory from LDAP / Active Directory on a schedule.

Each sync reads everyone the filter selects, maps them to profiles, and writes to the
``staff-directory`` topic only what differs from what the topic holds: new and changed
people, and a tombstone for each person who is no longer there. What the topic holds is
read from the topic itself when the connector starts, so a restart emits nothing new.
"""

from __future__ import annotations

import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ldap3 import (
    AUTO_BIND_NO_TLS,
    AUTO_BIND_TLS_BEFORE_BIND,
    NONE,
    SUBTREE,
    Connection,
    Server,
    Tls,
)
from ldap3.core.exceptions import (
    LDAPBindError,
    LDAPCommunicationError,
    LDAPException,
    LDAPStartTLSError,
)
from pydantic import ValidationError

from connectors.directory.ldap_mapping import Attributes, Skip, normalize_dn, profile_of
from connectors.directory.ldap_settings import LdapSettings
from connectors.directory.topic import DirectoryTopicError, publish, read_latest
from runtime.logging import get_logger
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas.staff import StaffProfile

log = get_logger("ldap-sync")


class LdapUnavailable(Exception):
    """The directory server could not be reached within the configured attempts."""


class LdapRefused(Exception):
    """The server answered but refused us (bind credentials, TLS, base DN): retrying
    would not help, someone has to change the settings."""


@dataclass(frozen=True)
class Person:
    dn: str
    attributes: Attributes


def _decode(raw: dict[str, list[bytes]]) -> dict[str, list[str]]:
    return {
        name.lower(): [value.decode("utf-8", errors="replace") for value in values]
        for name, values in raw.items()
    }


class LdapSource:
    """Reads the selected people from the server (paged, read-only)."""

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings

    def _server(self, url: str) -> Server:
        settings = self.settings
        secure = url.startswith("ldaps://") or settings.start_tls
        tls = (
            Tls(
                validate=ssl.CERT_REQUIRED,
                version=ssl.PROTOCOL_TLS_CLIENT,
                ca_certs_file=str(settings.ca_file) if settings.ca_file else None,
            )
            if secure
            else None
        )
        return Server(
            url.rstrip("/"),
            use_ssl=url.startswith("ldaps://"),
            tls=tls,
            get_info=NONE,
            connect_timeout=settings.timeout_s,
        )

    def _attributes(self) -> list[str]:
        s = self.settings
        names = [
            s.ref_attribute,
            s.name_attribute,
            s.profession_attribute,
            s.group_attribute if s.profession_groups else None,
            s.unit_attribute,
            s.manager_attribute,
            s.mail_attribute,
            s.mobile_attribute,
            s.language_attribute,
        ]
        return sorted({name for name in names if name})

    def people(self) -> list[Person]:
        settings = self.settings
        if settings.url is None or settings.base_dn is None:
            raise LdapRefused(" and ".join(settings.missing()) + " not set")
        password = settings.bind_password.get_secret_value() if settings.bind_password else None
        try:
            connection = Connection(
                self._server(settings.url),
                user=settings.bind_dn,
                password=password,
                auto_bind=AUTO_BIND_TLS_BEFORE_BIND if settings.start_tls else AUTO_BIND_NO_TLS,
                read_only=True,
                auto_referrals=False,  # never send our bind credentials to another server
                receive_timeout=settings.timeout_s,
                raise_exceptions=True,
            )
        except (LDAPBindError, LDAPStartTLSError) as exc:
            raise LdapRefused(type(exc).__name__) from None
        except LDAPCommunicationError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):  # ours to fix, not the network's
                raise LdapRefused("server certificate not trusted (see PSB_LDAP_CA_FILE)") from None
            raise LdapUnavailable(type(exc).__name__) from None
        try:
            results = connection.extend.standard.paged_search(
                settings.base_dn,
                settings.filter,
                search_scope=SUBTREE,
                attributes=self._attributes(),
                paged_size=settings.page_size,
                generator=False,
            )
            return [
                Person(entry["dn"], _decode(entry["raw_attributes"]))
                for entry in results
                if entry.get("type") == "searchResEntry"
            ]
        except LDAPCommunicationError as exc:
            raise LdapUnavailable(type(exc).__name__) from None
        except LDAPException as exc:  # no such base DN, bad filter, size limit ...
            raise LdapRefused(type(exc).__name__) from None
        finally:
            connection.unbind()


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def emitted(self) -> int:
        return self.created + self.updated + self.removed


def desired_profiles(
    people: list[Person], settings: LdapSettings
) -> tuple[dict[str, StaffProfile], Counter[str]]:
    """Profiles by reference, and how many entries were skipped for which reason."""
    managers: dict[str, str] = {}
    for person in people:
        refs = person.attributes.get(settings.ref_attribute.lower(), [])
        if refs:
            managers[normalize_dn(person.dn)] = refs[0].strip()
    profiles: dict[str, StaffProfile] = {}
    skipped: Counter[str] = Counter()
    for person in people:
        outcome = profile_of(person.attributes, managers, settings)
        if isinstance(outcome, Skip):
            skipped[outcome.value] += 1
        elif outcome.staff_ref in profiles:
            skipped["duplicate-reference"] += 1
        else:
            profiles[outcome.staff_ref] = outcome
    return profiles, skipped


class LdapSync:
    """Keeps ``staff-directory`` equal to what the directory server says."""

    def __init__(
        self,
        settings: LdapSettings,
        kafka: KafkaSettings,
        source: Callable[[], list[Person]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.kafka = kafka
        self.topic = Topics(kafka.topic_prefix).staff_directory
        self.source = source or LdapSource(settings).people
        self.sleep = sleep
        self.emitted: dict[str, StaffProfile | None] | None = None

    def _load_emitted(self) -> dict[str, StaffProfile | None]:
        """What the topic holds now; an entry that no longer parses counts as changed."""
        current: dict[str, StaffProfile | None] = {}
        for ref, raw in read_latest(self.kafka, self.topic).items():
            try:
                current[ref] = StaffProfile.model_validate_json(raw)
            except ValidationError:
                current[ref] = None
        return current

    def _fetch(self) -> list[Person]:
        delay = self.settings.retry_initial_s
        for attempt in range(1, self.settings.retry_attempts + 1):
            try:
                return self.source()
            except LdapUnavailable as exc:
                if attempt == self.settings.retry_attempts:
                    raise
                log.warning(
                    "ldap server not reachable, retrying",
                    attempt=attempt,
                    delay_s=round(delay, 2),
                    reason=str(exc),
                )
                self.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_s)
        raise AssertionError("unreachable")  # pragma: no cover

    def sync_once(self) -> SyncResult:
        people = self._fetch()
        if self.emitted is None:
            self.emitted = self._load_emitted()
        emitted = self.emitted
        desired, skipped = desired_profiles(people, self.settings)
        result = SyncResult(skipped=skipped)
        upserts: list[tuple[str, bytes]] = []
        for ref, profile in desired.items():
            before = emitted.get(ref)
            if before is not None and before.opted_out and not profile.opted_out:
                # an opt-out is the person's own choice, not the directory's to undo
                profile = profile.model_copy(update={"opted_out": True})
                desired[ref] = profile
            if before == profile:
                result.unchanged += 1
                continue
            if ref in emitted:
                result.updated += 1
            else:
                result.created += 1
            upserts.append((ref, profile.model_dump_json().encode()))
        removals = sorted(set(emitted) - set(desired))
        if not desired and removals:
            log.warning("ldap returned nobody; nothing removed", count=len(removals))
            removals = []
        result.removed = len(removals)
        if upserts or removals:
            publish(self.kafka, self.topic, upserts, removals)
        for ref in removals:
            emitted.pop(ref, None)
        emitted.update(desired)
        log.info(
            "ldap sync done",
            counts={
                "created": result.created,
                "updated": result.updated,
                "removed": result.removed,
                "unchanged": result.unchanged,
                **{f"skipped-{reason}": n for reason, n in skipped.items()},
            },
        )
        return result

    def run(self, once: bool = False) -> Iterator[SyncResult | Exception]:
        """Sync now, then every ``interval_s``; yields each outcome (the CLI reports it)."""
        while True:
            started = time.monotonic()
            outcome: SyncResult | Exception
            try:
                outcome = self.sync_once()
            except (LdapUnavailable, LdapRefused, DirectoryTopicError) as exc:
                log.error("ldap sync failed", reason=f"{type(exc).__name__}: {exc}")
                outcome = exc
            yield outcome
            if once:
                return
            self.sleep(max(0.0, self.settings.interval_s - (time.monotonic() - started)))
