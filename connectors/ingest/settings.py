"""Settings of ``peer-support ingest`` (``PSB_INGEST_*``) and of its FHIR read-back
(``PSB_INGEST_FHIR_*``)."""

from __future__ import annotations

from contextlib import suppress

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import PsbSettings


class IngestSettings(PsbSettings):
    """The HTTP ingest server: where it listens, who may call it, and its limits."""

    model_config = SettingsConfigDict(env_prefix="PSB_INGEST_", frozen=True, extra="ignore")

    host: str = Field("0.0.0.0", description="Address the ingest server listens on.")  # noqa: S104
    port: int = Field(8080, ge=0, le=65535, description="Port of the ingest server.")
    token: SecretStr | None = Field(
        None, description="Bearer token callers send as 'Authorization: Bearer ...' (secret)."
    )
    hmac_secret: SecretStr | None = Field(
        None,
        description="Key for the 'X-Signature-256: sha256=<hex HMAC-SHA-256 of the body>' "
        "header, an alternative to the bearer token (secret).",
    )
    allow_unauthenticated: bool = Field(
        False, description="Accept requests without token or signature (local trials only)."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, le=64 * 1_048_576, description="Largest request body accepted."
    )
    rate_per_second: float = Field(
        50.0, gt=0, description="Sustained requests per second allowed per client address."
    )
    rate_burst: int = Field(100, ge=1, description="Requests a client may send in a burst.")
    trust_forwarded_for: bool = Field(
        False,
        description="Behind a reverse proxy or Ingress: take the client address for the rate "
        "limit from the last X-Forwarded-For entry (the one the proxy added).",
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

    @model_validator(mode="after")
    def _someone_checks_callers(self) -> IngestSettings:
        if self.token is None and self.hmac_secret is None and not self.allow_unauthenticated:
            raise ValueError(
                "set PSB_INGEST_TOKEN or PSB_INGEST_HMAC_SECRET (or "
                "PSB_INGEST_ALLOW_UNAUTHENTICATED=true for a local trial)"
            )
        return self


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
