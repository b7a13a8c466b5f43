"""Settings from environment variables (prefix ``PSB_``), one class per concern.

Each field's description is its documentation: ``peer-support settings`` prints them, and
the Helm chart test checks that every variable declared here can be set from values.
Secrets are ``SecretStr`` and can also be mounted as files (``PSB_SECRETS_DIR``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.boundary import PseudonymKey
from schemas.boundary.document import DEFAULT_MAX_BYTES
from schemas.boundary.pseudonym import MIN_KEY_BYTES
from schemas.codes import CODE_PATTERN, Channel
from schemas.staff import known_phone_region, read_phone_region_with

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

_REGISTRY: list[type[BaseSettings]] = []
OUR_PACKAGES = ("schemas", "runtime", "streams", "connectors", "peer_support")

IN_FLIGHT_RECORDS: Final = 500
"""Records of a partition the worker fetches at once, and as many again queued for its
stream: with a batch, what can be in flight when a rebalance starts, so what
``rewind_records`` must cover. Here rather than in ``streams`` so settings can check it."""


def least_rewind(batch_size: int) -> int:
    """The fewest records read again after an assignment that still covers every record in
    flight: both fetched and queued, plus one batch taken from the queue."""
    return 2 * IN_FLIGHT_RECORDS + batch_size + 1


class PsbSettings(BaseSettings):
    """Base of every settings class; subclasses register themselves, so documentation and
    the Helm chart's parity test see every variable the code reads, wherever declared."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _REGISTRY.append(cls)


def registered() -> tuple[type[BaseSettings], ...]:
    """The settings classes of the modules imported so far; importing them all is the
    business of whoever needs every one (``runtime.settings_doc``), not of this module."""
    return tuple(sorted(_REGISTRY, key=lambda cls: (cls.__module__, cls.__qualname__)))


class KafkaSettings(PsbSettings):
    """How every client in the project reaches the broker."""

    model_config = SettingsConfigDict(env_prefix="PSB_KAFKA_", frozen=True, extra="ignore")

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Comma-separated host:port list of Kafka brokers."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Transport security towards the brokers."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] = Field(
        "SCRAM-SHA-512",
        description="SASL mechanism when security_protocol is SASL_*; OAUTHBEARER fetches "
        "tokens with the OIDC client-credentials grant (PSB_KAFKA_SASL_OAUTHBEARER_*).",
    )
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(None, description="SASL password (secret).")
    sasl_oauthbearer_token_endpoint_url: str | None = Field(
        None,
        description="OIDC token endpoint for OAUTHBEARER (https; http only on the loopback).",
    )
    sasl_oauthbearer_client_id: str | None = Field(
        None, description="OAuth client id for OAUTHBEARER."
    )
    sasl_oauthbearer_client_secret: SecretStr | None = Field(
        None, description="OAuth client secret for OAUTHBEARER (secret)."
    )
    sasl_oauthbearer_scope: str | None = Field(
        None, description="Scope(s) asked for with the OAUTHBEARER token, space-separated."
    )
    sasl_oauthbearer_extensions: str = Field(
        "",
        description="SASL extensions sent with the token, 'key=value,key=value' (e.g. "
        "Confluent Cloud's logicalCluster and identityPoolId).",
    )
    ssl_ca_location: Path | None = Field(None, description="CA bundle (PEM) for broker TLS.")
    ssl_certificate_location: Path | None = Field(
        None, description="Client certificate (PEM) for mutual TLS."
    )
    ssl_key_location: Path | None = Field(None, description="Client key (PEM) for mutual TLS.")
    ssl_check_hostname: bool = Field(True, description="Verify the broker's host name.")
    topic_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{0,100}$")] = Field(
        "", description="Prefix for every topic name, e.g. 'hf-vest.'."
    )
    partitions: int = Field(6, ge=1, le=1000, description="Partitions for topics we create.")
    replication_factor: int = Field(
        1, ge=1, le=10, description="Replication factor for topics we create."
    )
    session_timeout_ms: int = Field(
        10_000,
        ge=1000,
        le=1_800_000,
        description="Consumer group session timeout: how long a member that stopped without "
        "leaving (killed, cut off) holds its partitions before the group moves them. Heartbeats "
        "go every 3 s, or every third of a shorter timeout. Kafka refuses values outside its "
        "group.min/max.session.timeout.ms (6 s to 30 min by default).",
    )
    connect_timeout_s: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds a command waits for a broker to answer before it gives up with "
        "exit code 3 (the worker keeps waiting instead).",
    )
    reports_retention_hours: int = Field(
        72,
        ge=1,
        le=24 * 30,
        description="Hours incident-reports keeps raw reports (they may hold patient data): "
        "as short as lets the worker catch up after an outage; `topics create` sets it.",
    )
    embedded_broker_quirks: bool = Field(
        False,
        description="Work around the embedded broker (Tansu 0.6): its high watermark can miss "
        "records of the last record batch, so the worker sends each changelog partition's "
        "last record alone and skips Faust's recovery consistency check. Only for the "
        "embedded broker (tests, demo, bench); leave off on Kafka.",
    )

    @field_validator("sasl_oauthbearer_token_endpoint_url")
    @classmethod
    def _token_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = urlsplit(value)
        loopback = url.hostname in {"127.0.0.1", "localhost", "::1"}
        if url.scheme != "https" and not (url.scheme == "http" and loopback):
            raise ValueError("must be an https:// URL (the client secret is sent to it)")
        return value

    @field_validator("sasl_oauthbearer_extensions")
    @classmethod
    def _extensions(cls, value: str) -> str:
        for pair in filter(None, (part.strip() for part in value.split(","))):
            key, equals, _ = pair.partition("=")
            if not equals or re.fullmatch(r"[A-Za-z]+", key) is None or key == "auth":
                raise ValueError("must be key=value pairs separated by commas, keys letters only")
        return value

    @model_validator(mode="after")
    def _oauthbearer_complete(self) -> Self:
        if self.sasl_mechanism != "OAUTHBEARER" or not self.security_protocol.startswith("SASL"):
            return self
        missing = [
            f"PSB_KAFKA_SASL_OAUTHBEARER_{name.upper()}"
            for name, value in (
                ("token_endpoint_url", self.sasl_oauthbearer_token_endpoint_url),
                ("client_id", self.sasl_oauthbearer_client_id),
                ("client_secret", self.sasl_oauthbearer_client_secret),
            )
            if value is None
        ]
        if missing:
            raise ValueError(f"OAUTHBEARER needs {', '.join(missing)}")
        return self

    @property
    def oauthbearer_extensions(self) -> dict[str, str]:
        pairs = (part.strip() for part in self.sasl_oauthbearer_extensions.split(","))
        return dict(pair.split("=", 1) for pair in pairs if pair)


class BoundarySettings(PsbSettings):
    """The privacy boundary's key and limits."""

    model_config = SettingsConfigDict(env_prefix="PSB_", frozen=True, extra="ignore")

    pseudonym_key: SecretStr = Field(
        min_length=MIN_KEY_BYTES,
        description="HMAC key (at least 32 bytes) for incident pseudonyms (secret).",
    )
    fhir_source_system: Annotated[str, StringConstraints(pattern=CODE_PATTERN)] = Field(
        "fhir", description="Source-system code given to FHIR reports."
    )
    max_report_bytes: int = Field(
        DEFAULT_MAX_BYTES, ge=1024, description="Largest report accepted, in bytes."
    )
    source_systems: str = Field(
        "",
        description="Comma-separated codes of the reporting systems that send native "
        "reports; a report's source_system crosses the boundary only if it is one of these "
        "(or the FHIR source-system code), else it is dropped and counted.",
    )

    @field_validator("source_systems")
    @classmethod
    def _codes(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        if any(re.fullmatch(CODE_PATTERN, name) is None for name in names):
            raise ValueError("list codes separated by commas, e.g. avvik-hf,synergi")
        return ",".join(names)

    @property
    def sources(self) -> frozenset[str]:
        """The source-system codes that may cross the boundary."""
        named = (name for name in self.source_systems.split(",") if name)
        return frozenset((*named, self.fhir_source_system))

    def key(self) -> PseudonymKey:
        return PseudonymKey(self.pseudonym_key.get_secret_value().encode())


class WorkerSettings(PsbSettings):
    """The stream worker (Faust app)."""

    model_config = SettingsConfigDict(env_prefix="PSB_WORKER_", frozen=True, extra="ignore")

    app_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,100}$")] = Field(
        "peer-support-bridge", description="Consumer group and changelog-topic prefix."
    )
    web_host: str = Field("0.0.0.0", description="Address for health and metrics.")  # noqa: S104
    web_port: int = Field(6066, ge=0, le=65535, description="Port for health and metrics.")
    data_dir: Path = Field(
        Path("/tmp/peer-support-worker"),  # noqa: S108
        description="Writable directory for worker state.",
    )
    batch_size: int = Field(500, ge=1, le=10_000, description="Records taken per batch.")
    batch_wait_ms: int = Field(
        1,
        ge=1,
        le=5000,
        description="Longest wait to fill a batch, in milliseconds: the records already "
        "fetched join the batch; a longer wait only delays them.",
    )
    fetch_wait_ms: int = Field(
        20,
        ge=1,
        le=1500,
        description="Longest wait of one fetch from the broker, in milliseconds; bounds the "
        "delay each hop adds when the broker does not answer a fetch as soon as data arrives.",
    )
    rewind_records: int = Field(
        2000,
        ge=0,
        le=1_000_000,
        description="Records read again before the committed offset of each partition an "
        "agent reads, whenever partitions are assigned; covers messages Faust's consumer "
        "commits past unprocessed during a rebalance (the ledgers drop the repeats). Keep "
        "it above 1,000 plus the batch size (records fetched and queued at once).",
    )
    stall_report_s: float = Field(
        300.0,
        ge=1,
        le=86_400,
        description="Seconds a partition the worker reads may go without a fetch, a "
        "processed record or a commit before the worker logs it as stalled (Faust's "
        "stream_processing_timeout); partitions paused on purpose are never reported.",
    )
    stop_timeout_s: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="Seconds a stop (SIGTERM, Ctrl-C) may take before the worker exits with "
        "code 3 anyway; only a broker that stopped answering keeps it that long, and what "
        "was not sent was not committed either, so the next start does it again. Keep it "
        "under the pod's terminationGracePeriodSeconds.",
    )
    scheduler_interval_ms: int = Field(
        1000,
        ge=10,
        le=60_000,
        description="How often scheduled offers and reminders are checked for being due.",
    )
    expiry_interval_s: float = Field(
        3600.0,
        gt=0,
        le=86_400,
        description="How often the worker forgets table entries whose retention period "
        "passed, in seconds.",
    )
    channels: str = Field(
        "email,sms,teams,slack,webhook",
        description="Channels that have a sink deployed, comma-separated; a person is "
        "reached on the first of their channels that is among these.",
    )

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in Channel._value2member_map_]
        if unknown or not names:
            raise ValueError(f"channels must be among {', '.join(c.value for c in Channel)}")
        return ",".join(names)

    @model_validator(mode="after")
    def _rewind_covers_in_flight(self) -> Self:
        least = least_rewind(self.batch_size)
        if self.rewind_records < least:
            raise ValueError(
                f"PSB_WORKER_REWIND_RECORDS must be at least {least} with "
                f"PSB_WORKER_BATCH_SIZE {self.batch_size}: fewer would lose records in "
                "flight when partitions move"
            )
        return self

    @property
    def enabled_channels(self) -> frozenset[Channel]:
        return frozenset(Channel(name) for name in self.channels.split(","))


class PolicySettings(PsbSettings):
    model_config = SettingsConfigDict(env_prefix="PSB_POLICY_", frozen=True, extra="ignore")

    file: Path | None = Field(
        None, description="The policy YAML file; the built-in default policy when unset."
    )
    reload_interval_s: float = Field(
        5.0, gt=0, le=3600, description="How often the policy file is checked for changes."
    )


class DirectorySettings(PsbSettings):
    """How contact addresses of the staff directory are read, from a file and LDAP alike."""

    model_config = SettingsConfigDict(env_prefix="PSB_DIRECTORY_", frozen=True, extra="ignore")

    phone_region: str = Field(
        "NO",
        description="Country (two letters, e.g. NO, SE) whose national phone numbers the "
        "staff directory may hold without a country code; every number is stored as E.164.",
    )

    _known_region = field_validator("phone_region")(known_phone_region)


class RuntimeSettings(PsbSettings):
    model_config = SettingsConfigDict(env_prefix="PSB_", frozen=True, extra="ignore")

    secrets_dir: Path | None = Field(
        None,
        description="Directory of mounted secret files, one per variable, named like the "
        "variable in lower case (e.g. psb_pseudonym_key).",
    )


class LogSettings(PsbSettings):
    model_config = SettingsConfigDict(env_prefix="PSB_LOG_", frozen=True, extra="ignore")

    level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Lowest level written to the JSON log."
    )


def load(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings from the environment and, when ``PSB_SECRETS_DIR`` names a directory,
    from files in it (Kubernetes Secret volumes)."""
    secrets_dir = RuntimeSettings().secrets_dir
    if secrets_dir is not None and secrets_dir.is_dir():
        overrides.setdefault("_secrets_dir", secrets_dir)
    return cls(**overrides)


read_phone_region_with(lambda: DirectorySettings().phone_region)
