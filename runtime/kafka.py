"""Client configuration for confluent-kafka and for Faust (aiokafka), from one settings
object, so TLS and SASL are set the same way for every client in the project."""

from __future__ import annotations

import logging
import ssl
from typing import Any

from runtime.settings import KafkaSettings


def confluent_config(settings: KafkaSettings, **extra: Any) -> dict[str, Any]:
    """librdkafka properties common to producers, consumers and admin clients."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.security_protocol,
        # librdkafka's own log lines go through our JSON logging, not straight to stderr
        "logger": logging.getLogger("librdkafka"),
    }
    if settings.security_protocol.startswith("SASL"):
        config["sasl.mechanism"] = settings.sasl_mechanism
        if settings.sasl_username is not None:
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


def consumer_config(settings: KafkaSettings, group_id: str, **extra: Any) -> dict[str, Any]:
    """A consumer that commits only when told to, after the outcome is recorded."""
    return confluent_config(
        settings,
        **{
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": settings.session_timeout_ms,
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
    }
    context = ssl_context(settings) if settings.security_protocol.endswith("SSL") else None
    if settings.security_protocol.startswith("SASL"):
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
        options["sasl_plain_username"] = settings.sasl_username
        if settings.sasl_password is not None:
            options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return options
