"""Client configuration for confluent-kafka and for Faust (aiokafka), from one settings
object, so TLS and SASL are set the same way for every client in the project; and the one
question every command asks first: does a broker answer?"""

from __future__ import annotations

import logging
import re
import ssl
import time
from typing import Any, Final

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from runtime.oauthbearer import ClientCredentialsTokens
from runtime.settings import KafkaSettings

BOOTSTRAP_VARIABLE: Final = "PSB_KAFKA_BOOTSTRAP_SERVERS"
TIMEOUT_VARIABLE: Final = "PSB_KAFKA_CONNECT_TIMEOUT_S"
LIBRDKAFKA_REPEAT_S: Final = 60.0
"""A librdkafka line of one facility and level is logged once in this many seconds: an
unreachable broker makes it repeat its FAIL line several times a second."""

_LIBRDKAFKA = logging.getLogger("librdkafka")
# A process that configured no logging (the one-shot commands) shows none of librdkafka's
# lines: its own one-line error says what failed. With JSON logging they propagate to it.
_LIBRDKAFKA.addHandler(logging.NullHandler())
_FACILITY = re.compile(r"[A-Z0-9_]{1,24}")
_NOT_ANSWERING: Final = frozenset(
    {"_TRANSPORT", "_TIMED_OUT", "_ALL_BROKERS_DOWN", "_RESOLVE", "_MSG_TIMED_OUT"}
)


class BrokerUnavailable(Exception):
    """No broker answered at the configured address in time; the message names the address
    and the setting to change."""


class BrokerRefused(Exception):
    """A broker answered but refused the request (permissions, a topic setting)."""


class _LibrdkafkaLog:
    """librdkafka's ``logger``: its lines (``FAIL``, ``AUTH`` ...) as the facility alone, at
    most one per facility and level a minute. The line's text, which names brokers and
    topics, stays out: the JSON log keeps only the format string of a library's record."""

    def __init__(self) -> None:
        self._last: dict[tuple[int, str], float] = {}

    def log(self, level: int, _format: str, *args: object) -> None:
        facility = str(args[0]) if args else ""
        if _FACILITY.fullmatch(facility) is None:
            facility = "OTHER"
        now = time.monotonic()
        if now - self._last.get((level, facility), -LIBRDKAFKA_REPEAT_S) < LIBRDKAFKA_REPEAT_S:
            return
        self._last[(level, facility)] = now
        _LIBRDKAFKA.log(level, f"librdkafka {facility}")


_LIBRDKAFKA_LOG: Final = _LibrdkafkaLog()


def confluent_config(settings: KafkaSettings, **extra: Any) -> dict[str, Any]:
    """librdkafka properties common to producers, consumers and admin clients."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.security_protocol,
        "logger": _LIBRDKAFKA_LOG,
    }
    if settings.security_protocol.startswith("SASL"):
        config["sasl.mechanism"] = settings.sasl_mechanism
        if settings.sasl_mechanism == "OAUTHBEARER":
            config.update(_librdkafka_oidc(settings))
        elif settings.sasl_username is not None:
            config["sasl.username"] = settings.sasl_username
        if settings.sasl_password is not None:
            config["sasl.password"] = settings.sasl_password.get_secret_value()
    if settings.security_protocol.endswith("SSL"):
        if settings.ssl_ca_location is not None:
            config["ssl.ca.location"] = str(settings.ssl_ca_location)
        if settings.ssl_certificate_location is not None:
            config["ssl.certificate.location"] = str(settings.ssl_certificate_location)
        if settings.ssl_key_location is not None:
            config["ssl.key.location"] = str(settings.ssl_key_location)
        config["ssl.endpoint.identification.algorithm"] = (
            "https" if settings.ssl_check_hostname else "none"
        )
    config.update(extra)
    return config


def _librdkafka_oidc(settings: KafkaSettings) -> dict[str, str]:
    """librdkafka's own client-credentials flow (``sasl.oauthbearer.method=oidc``)."""
    secret = settings.sasl_oauthbearer_client_secret
    config = {
        "sasl.oauthbearer.method": "oidc",
        "sasl.oauthbearer.token.endpoint.url": settings.sasl_oauthbearer_token_endpoint_url or "",
        "sasl.oauthbearer.client.id": settings.sasl_oauthbearer_client_id or "",
        "sasl.oauthbearer.client.secret": secret.get_secret_value() if secret else "",
    }
    if settings.sasl_oauthbearer_scope:
        config["sasl.oauthbearer.scope"] = settings.sasl_oauthbearer_scope
    if settings.oauthbearer_extensions:
        config["sasl.oauthbearer.extensions"] = ",".join(
            f"{key}={value}" for key, value in settings.oauthbearer_extensions.items()
        )
    return config


def producer_config(settings: KafkaSettings, **extra: Any) -> dict[str, Any]:
    """An idempotent producer that waits for every in-sync replica.

    ``murmur2_random`` is the Java client's and aiokafka's partitioner, so a key lands in
    the same partition whichever client in the project wrote it.
    """
    return confluent_config(
        settings,
        **{
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "partitioner": "murmur2_random",
            **extra,
        },
    )


HEARTBEAT_INTERVAL_MS: Final = 3000
"""The clients' own default heartbeat (librdkafka's, aiokafka's)."""


def heartbeat_interval_ms(settings: KafkaSettings) -> int:
    """The clients' default, or a third of a shorter session timeout: a member must send
    heartbeats within its session, or the group evicts it and rebalances again and again."""
    return min(HEARTBEAT_INTERVAL_MS, settings.session_timeout_ms // 3)


def consumer_config(settings: KafkaSettings, group_id: str, **extra: Any) -> dict[str, Any]:
    """A consumer that commits only when told to, after the outcome is recorded."""
    return confluent_config(
        settings,
        **{
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": settings.session_timeout_ms,
            "heartbeat.interval.ms": heartbeat_interval_ms(settings),
            **extra,
        },
    )


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=str(settings.ssl_ca_location) if settings.ssl_ca_location else None
    )
    if settings.ssl_certificate_location is not None:
        context.load_cert_chain(
            str(settings.ssl_certificate_location),
            str(settings.ssl_key_location) if settings.ssl_key_location else None,
        )
    context.check_hostname = settings.ssl_check_hostname
    return context


def faust_broker_options(settings: KafkaSettings) -> dict[str, Any]:
    """``faust.App`` keyword arguments for the ``kafka://`` (aiokafka) driver."""
    import faust

    hosts = ";".join(host.strip() for host in settings.bootstrap_servers.split(","))
    options: dict[str, Any] = {
        "broker": f"kafka://{hosts}",
        "broker_session_timeout": settings.session_timeout_ms / 1000,
        "broker_heartbeat_interval": heartbeat_interval_ms(settings) / 1000,
    }
    context = ssl_context(settings) if settings.security_protocol.endswith("SSL") else None
    if settings.security_protocol.startswith("SASL") and settings.sasl_mechanism == "OAUTHBEARER":
        options["broker_credentials"] = faust.OAuthCredentials(
            oauth_cb=ClientCredentialsTokens(settings), ssl_context=context
        )
    elif settings.security_protocol.startswith("SASL"):
        options["broker_credentials"] = faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value() if settings.sasl_password else None,
            mechanism=settings.sasl_mechanism,
            ssl_context=context,
        )
    elif context is not None:
        options["broker_credentials"] = faust.SSLCredentials(context)
    return options


def aiokafka_options(settings: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka clients created outside Faust."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers.split(","),
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol.endswith("SSL"):
        options["ssl_context"] = ssl_context(settings)
    if settings.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.sasl_mechanism
    if settings.security_protocol.startswith("SASL") and settings.sasl_mechanism == "OAUTHBEARER":
        options["sasl_oauth_token_provider"] = ClientCredentialsTokens(settings)
    elif settings.security_protocol.startswith("SASL"):
        options["sasl_plain_username"] = settings.sasl_username
        if settings.sasl_password is not None:
            options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return options


def unreachable(settings: KafkaSettings, reason: str = "") -> str:
    """One line: which address did not answer, and which settings to look at."""
    why = f" ({reason})" if reason else ""
    return (
        f"no Kafka broker answered at {settings.bootstrap_servers} within "
        f"{settings.connect_timeout_s:g} s{why}; check {BOOTSTRAP_VARIABLE} "
        f"(the wait is {TIMEOUT_VARIABLE})"
    )


def translate(settings: KafkaSettings, exc: KafkaException) -> BrokerUnavailable | BrokerRefused:
    """A librdkafka error as one of ours: not answering (retriable, transport, time-out) or
    refusing (anything else the broker said)."""
    error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    if error is None or error.retriable() or error.name() in _NOT_ANSWERING:
        return BrokerUnavailable(unreachable(settings, error.name() if error else ""))
    return BrokerRefused(f"the broker at {settings.bootstrap_servers} refused: {error.name()}")


def check_broker(settings: KafkaSettings) -> None:
    """Return once a broker answers a metadata request; raise :class:`BrokerUnavailable`
    after ``connect_timeout_s``."""
    admin = AdminClient(confluent_config(settings))
    try:
        admin.list_topics(timeout=settings.connect_timeout_s)
    except KafkaException as exc:
        raise translate(settings, exc) from None
