"""Settings of ``peer-support ingest`` (``PSB_INGEST_*``) and of its FHIR read-back
(``PSB_INGEST_FHIR_*``)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from contextlib import suppress
from typing import Final, TypeAlias

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import PsbSettings

MIN_SECRET_BYTES: Final = 32
WEBHOOK_SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (a prefix, not a secret)
_AT_LEAST: Final = f"set at least {MIN_SECRET_BYTES} random bytes, or unset it"
Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


class IngestSettings(PsbSettings):
    """The HTTP ingest server: where it listens, who may call it, and its limits."""

    model_config = SettingsConfigDict(env_prefix="PSB_INGEST_", frozen=True, extra="ignore")

    host: str = Field("0.0.0.0", description="Address the ingest server listens on.")  # noqa: S104
    port: int = Field(8080, ge=0, le=65535, description="Port of the ingest server.")
    token: SecretStr | None = Field(
        None,
        description="Bearer token callers send as 'Authorization: Bearer ...': at least "
        f"{MIN_SECRET_BYTES} visible ASCII characters (secret).",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Standard Webhooks secret ('whsec_' and base64 of at least "
        f"{MIN_SECRET_BYTES} random bytes) checking the webhook-id, webhook-timestamp and "
        "webhook-signature headers (secret).",
    )
    webhook_tolerance_s: int = Field(
        300,
        ge=10,
        le=3600,
        description="How far a webhook-timestamp may be from the server's clock, in seconds; "
        "a webhook-id is refused when seen again within it.",
    )
    hmac_secret: SecretStr | None = Field(
        None,
        description="Key (at least 32 bytes) for the older 'X-Signature-256: sha256=<hex "
        "HMAC-SHA-256 of the body>' header; needs PSB_INGEST_ALLOW_BODY_HMAC (secret).",
    )
    allow_body_hmac: bool = Field(
        False,
        description="Accept the X-Signature-256 body HMAC. It covers neither a time nor an id, "
        "so a captured request can be sent again: prefer PSB_INGEST_WEBHOOK_SECRET.",
    )
    allow_unauthenticated: bool = Field(
        False, description="Accept requests without token or signature (local trials only)."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, le=64 * 1_048_576, description="Largest request body accepted."
    )
    max_batch_events: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Most CloudEvents one batch (application/cloudevents-batch+json) may "
        "hold; a larger batch gets 413 and nothing of it is stored.",
    )
    rate_per_second: float = Field(
        50.0, gt=0, description="Sustained requests per second allowed per credential."
    )
    rate_burst: int = Field(100, ge=1, description="Requests a credential may send in a burst.")
    unauthenticated_rate_per_second: float = Field(
        1.0,
        gt=0,
        description="Sustained requests per second allowed per client address for requests "
        "not authenticated by their headers (none, wrong, or a signature still to check); "
        "they never spend a credential's allowance.",
    )
    unauthenticated_burst: int = Field(
        20, ge=1, description="Requests not authenticated by their headers, in a burst."
    )
    unverified_bodies: int = Field(
        16,
        ge=1,
        le=1000,
        description="Request bodies read at once whose signature is still to be checked; "
        "more get 503 with Retry-After.",
    )
    unverified_bytes: int = Field(
        8 * 1_048_576,
        ge=1024,
        le=1024 * 1_048_576,
        description="Bytes those bodies may hold together (at least PSB_INGEST_MAX_BODY_BYTES).",
    )
    body_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Time a request body may take to arrive, in seconds."
    )
    idle_timeout_s: float = Field(
        75.0,
        gt=0,
        le=3600,
        description="Time a connection may take to send a request's headers, and stay open "
        "idle between requests, in seconds; keep it above the Ingress's upstream keep-alive.",
    )
    forwarded_allow_ips: str = Field(
        "",
        description="Comma-separated networks (CIDR) of the reverse proxies or Ingress "
        "whose X-Forwarded-For is believed: the client address for the limits is then the "
        "last entry not in these networks. Empty: the peer address counts.",
    )
    trust_forwarded_for: bool = Field(
        False,
        description="Replaced by PSB_INGEST_FORWARDED_ALLOW_IPS; true is refused without it.",
    )
    delivery_timeout_ms: int = Field(
        5000,
        ge=100,
        le=300_000,
        description="How long a record may wait for the broker before the request gets 503.",
    )
    retry_after_s: int = Field(
        10, ge=1, le=3600, description="Retry-After seconds sent with 503 responses."
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            return ",".join(str(net) for net in parse_networks(value))
        except ValueError:
            raise ValueError("list networks in CIDR form, e.g. 10.0.0.0/8,fd00::/8") from None

    @model_validator(mode="after")
    def _holds(self) -> IngestSettings:
        problems = [
            *_secret_problems(self),
            *_combination_problems(self),
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def proxies(self) -> tuple[Network, ...]:
        """The networks whose X-Forwarded-For is believed."""
        return parse_networks(self.forwarded_allow_ips)

    def webhook_key(self) -> bytes | None:
        return webhook_key(self.webhook_secret.get_secret_value()) if self.webhook_secret else None


def parse_networks(value: str) -> tuple[Network, ...]:
    """``10.0.0.0/8, fd00::/8`` as networks; a bare address is a network of one."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in value.split(",")
        if part.strip()
    )


def webhook_key(secret: str) -> bytes:
    """The key of a Standard Webhooks secret: base64, optionally after ``whsec_``."""
    encoded = secret.strip().removeprefix(WEBHOOK_SECRET_PREFIX)
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def _secret_problems(settings: IngestSettings) -> list[str]:
    """Secrets too short to resist guessing, or empty (a server that would refuse everyone)."""
    problems = []
    for name, secret in (("TOKEN", settings.token), ("HMAC_SECRET", settings.hmac_secret)):
        if secret is None:
            continue
        value = secret.get_secret_value()
        if not value:
            problems.append(f"PSB_INGEST_{name} is empty: {_AT_LEAST}")
        elif len(value.encode()) < MIN_SECRET_BYTES:
            problems.append(f"PSB_INGEST_{name} must be at least {MIN_SECRET_BYTES} bytes")
        elif name == "TOKEN" and not _visible_ascii(value):
            problems.append("PSB_INGEST_TOKEN must be visible ASCII characters only")
    if settings.webhook_secret is not None:
        value = settings.webhook_secret.get_secret_value()
        try:
            key = webhook_key(value)
        except ValueError:
            problems.append("PSB_INGEST_WEBHOOK_SECRET must be 'whsec_' and base64")
        else:
            if not value:
                problems.append(f"PSB_INGEST_WEBHOOK_SECRET is empty: {_AT_LEAST}")
            elif len(key) < MIN_SECRET_BYTES:
                problems.append(
                    f"PSB_INGEST_WEBHOOK_SECRET must encode at least {MIN_SECRET_BYTES} bytes"
                )
    return problems


def _combination_problems(settings: IngestSettings) -> list[str]:
    problems = []
    if (
        settings.token is None
        and settings.webhook_secret is None
        and settings.hmac_secret is None
        and not settings.allow_unauthenticated
    ):
        problems.append(
            "set PSB_INGEST_TOKEN or PSB_INGEST_WEBHOOK_SECRET (or "
            "PSB_INGEST_ALLOW_UNAUTHENTICATED=true for a local trial)"
        )
    if settings.hmac_secret is not None and not settings.allow_body_hmac:
        problems.append(
            "PSB_INGEST_HMAC_SECRET signs the body alone, so a captured request can be sent "
            "again: use PSB_INGEST_WEBHOOK_SECRET, or set PSB_INGEST_ALLOW_BODY_HMAC=true"
        )
    if settings.allow_body_hmac and settings.hmac_secret is None:
        problems.append("PSB_INGEST_ALLOW_BODY_HMAC=true needs PSB_INGEST_HMAC_SECRET")
    if settings.trust_forwarded_for and not settings.forwarded_allow_ips:
        problems.append(
            "PSB_INGEST_TRUST_FORWARDED_FOR is replaced by PSB_INGEST_FORWARDED_ALLOW_IPS: "
            "list the networks of the proxies whose X-Forwarded-For is believed"
        )
    if settings.unverified_bytes < settings.max_body_bytes:
        problems.append("PSB_INGEST_UNVERIFIED_BYTES must be at least PSB_INGEST_MAX_BODY_BYTES")
    return problems


def _visible_ascii(value: str) -> bool:
    return all("!" <= char <= "~" for char in value)


class FhirReadSettings(PsbSettings):
    """Reading AdverseEvents back from the FHIR server for id-only notifications."""

    model_config = SettingsConfigDict(env_prefix="PSB_INGEST_FHIR_", frozen=True, extra="ignore")

    base_url: str | None = Field(
        None,
        description="FHIR base URL that id-only notifications are read back from; relative "
        "focus references resolve against it (absolute ones must start with it).",
    )
    token: SecretStr | None = Field(None, description="Static bearer token for the FHIR server.")
    token_url: str | None = Field(
        None, description="OAuth2 token endpoint (SMART backend services) for client credentials."
    )
    client_id: str | None = Field(None, description="Client id at the token endpoint.")
    client_secret: SecretStr | None = Field(
        None, description="Client secret at the token endpoint (secret)."
    )
    private_key: SecretStr | None = Field(
        None,
        description="PEM private key (RSA, or EC P-384) signing the SMART backend-services "
        "client assertion (private_key_jwt); used instead of the client secret when set "
        "(secret).",
    )
    key_id: str | None = Field(
        None, description="Key id ('kid') of the private key, as published in the client's JWKS."
    )
    scope: str = Field(
        "system/AdverseEvent.read", description="Scope asked for with client credentials."
    )
    timeout_s: float = Field(5.0, gt=0, le=120, description="Timeout of each FHIR request.")

    @field_validator("private_key")
    @classmethod
    def _loadable_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        key = None
        with suppress(ValueError, TypeError):  # refused below, without the parser's context
            key = serialization.load_pem_private_key(
                value.get_secret_value().encode(), password=None
            )
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("not an unencrypted PEM RSA or EC private key")
        return value
