"""Settings of the LDAP / Active Directory sync (``PSB_LDAP_*``).

The defaults fit Active Directory; an OpenLDAP directory with ``inetOrgPerson`` entries
needs ``ref_attribute=uid`` and ``unit_attribute=departmentNumber`` (see the README).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, StringConstraints, model_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import PsbSettings
from schemas.codes import Code, Profession

Attribute = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,63}$")]


class LdapSettings(PsbSettings):
    """Where the directory is, how to bind, and which attribute holds what."""

    model_config = SettingsConfigDict(env_prefix="PSB_LDAP_", frozen=True, extra="ignore")

    url: Annotated[str, StringConstraints(pattern=r"^ldaps?://[^\s/@]+/?$")] | None = Field(
        None,
        description="Directory server, ldaps://host:636 or ldap://host:389 (with start_tls); "
        "required by the sync.",
    )
    start_tls: bool = Field(False, description="Upgrade an ldap:// connection with StartTLS.")
    allow_cleartext_bind: bool = Field(
        False,
        description="Let the sync send the bind password over ldap:// without StartTLS, "
        "readable by anyone on the network path; for a test directory only.",
    )
    ca_file: Path | None = Field(
        None, description="CA bundle (PEM) that signed the server's certificate."
    )
    bind_dn: str | None = Field(None, description="DN (or user@domain) to bind as.")
    bind_password: SecretStr | None = Field(None, description="Password of bind_dn (secret).")
    base_dn: str | None = Field(
        None, description="Where people are searched, e.g. OU=Ansatte,DC=hf,DC=no; required."
    )
    filter: str = Field(
        "(&(objectClass=user)(objectCategory=person)"
        "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
        description="LDAP filter selecting the staff; the default is AD's enabled users.",
    )
    ref_attribute: Attribute = Field(
        "sAMAccountName", description="Attribute holding the staff reference."
    )
    name_attribute: Attribute = Field("displayName", description="Attribute with the name.")
    profession_attribute: Attribute | None = Field(
        "title", description="Attribute whose value gives the profession (see profession_map)."
    )
    profession_map: dict[str, Profession] = Field(
        {},
        description='JSON map from attribute value to profession, e.g. {"Lege": "physician"}; '
        "a value that is itself a profession code needs no entry.",
    )
    group_attribute: Attribute = Field(
        "memberOf", description="Attribute listing the groups a person belongs to."
    )
    profession_groups: dict[str, Profession] = Field(
        {},
        description="JSON map from group DN to profession; a group match wins over "
        "profession_attribute.",
    )
    default_profession: Profession | None = Field(
        None, description="Profession of people no rule matches; unset: they are skipped."
    )
    unit_attribute: Attribute = Field("department", description="Attribute with the unit.")
    unit_map: dict[str, Code] = Field(
        {},
        description="JSON map from unit attribute value to unit code, for values that are "
        'not codes themselves, e.g. {"Akuttmottak": "AKM"}.',
    )
    manager_attribute: Attribute = Field(
        "manager", description="Attribute with the line manager's DN."
    )
    mail_attribute: Attribute = Field("mail", description="Attribute with the email address.")
    mobile_attribute: Attribute = Field("mobile", description="Attribute with the mobile number.")
    language_attribute: Attribute = Field(
        "preferredLanguage", description="Attribute with the preferred language (nb, nn, en)."
    )
    interval_s: float = Field(900.0, gt=0, description="Seconds between two syncs.")
    page_size: int = Field(500, ge=1, le=10_000, description="Entries per LDAP result page.")
    timeout_s: int = Field(10, ge=1, le=600, description="Connect and receive timeout, seconds.")
    retry_initial_s: float = Field(
        1.0, gt=0, description="First wait after the server was not reachable; doubles."
    )
    retry_max_s: float = Field(60.0, gt=0, description="Longest wait between two attempts.")
    retry_attempts: int = Field(
        8, ge=1, description="Attempts per sync before it is given up until the next one."
    )

    @model_validator(mode="after")
    def _no_cleartext_password(self) -> Self:
        """Refused here, before any connection: a password sent once in clear text is
        disclosed, whatever the sync does afterwards."""
        cleartext = self.url is not None and self.url.startswith("ldap://") and not self.start_tls
        if cleartext and self.bind_password is not None and not self.allow_cleartext_bind:
            raise ValueError(
                "the bind password would cross the network in clear text (ldap:// without "
                "StartTLS): use ldaps:// or PSB_LDAP_START_TLS=true, or accept it with "
                "PSB_LDAP_ALLOW_CLEARTEXT_BIND=true"
            )
        return self

    def missing(self) -> list[str]:
        """Settings the sync cannot run without, by variable name."""
        return [
            f"PSB_LDAP_{name.upper()}" for name in ("url", "base_dn") if getattr(self, name) is None
        ]
