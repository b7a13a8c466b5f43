"""TLS and SASL reach every kind of Kafka client in the project from the same settings:
confluent-kafka (connectors, topic admin), aiokafka (the replicated views) and Faust."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from pathlib import Path

import certifi
import faust
import pytest
from confluent_kafka import Producer
from pydantic import ValidationError

from runtime.kafka import (
    aiokafka_options,
    confluent_config,
    consumer_config,
    faust_broker_options,
    producer_config,
)
from runtime.oauthbearer import ClientCredentialsTokens
from runtime.settings import KafkaSettings

CA = Path(certifi.where())


def settings(**changes: object) -> KafkaSettings:
    return KafkaSettings.model_validate(
        {"bootstrap_servers": "kafka-0:9093,kafka-1:9093", **changes}
    )


SASL_SSL = settings(
    security_protocol="SASL_SSL",
    sasl_mechanism="SCRAM-SHA-512",
    sasl_username="bridge",
    sasl_password="not-in-logs",
    ssl_ca_location=CA,
)


def test_confluent_clients_get_sasl_and_tls() -> None:
    for config in (
        confluent_config(SASL_SSL),
        producer_config(SASL_SSL),
        consumer_config(SASL_SSL, "group"),
    ):
        assert config["security.protocol"] == "SASL_SSL"
        assert config["sasl.mechanism"] == "SCRAM-SHA-512"
        assert config["sasl.username"] == "bridge"
        assert config["sasl.password"] == "not-in-logs"
        assert config["ssl.ca.location"] == str(CA)
        assert config["ssl.endpoint.identification.algorithm"] == "https"


def test_aiokafka_clients_get_sasl_and_tls() -> None:
    options = aiokafka_options(SASL_SSL)
    assert options["bootstrap_servers"] == ["kafka-0:9093", "kafka-1:9093"]
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "bridge",
        "not-in-logs",
    )
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_faust_gets_sasl_and_tls() -> None:
    options = faust_broker_options(SASL_SSL)
    assert options["broker"] == "kafka://kafka-0:9093;kafka-1:9093"
    credentials = options["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "bridge"
    assert credentials.password == "not-in-logs"
    assert str(credentials.mechanism.value) == "SCRAM-SHA-512"
    assert isinstance(credentials.ssl_context, ssl.SSLContext)


def test_plain_sasl_without_tls_and_tls_without_sasl() -> None:
    plain = settings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password="p",
    )
    assert confluent_config(plain)["sasl.mechanism"] == "PLAIN"
    assert "ssl.ca.location" not in confluent_config(plain)
    assert "ssl_context" not in aiokafka_options(plain)
    tls = settings(security_protocol="SSL", ssl_ca_location=CA, ssl_check_hostname=False)
    assert "sasl.mechanism" not in confluent_config(tls)
    assert confluent_config(tls)["ssl.endpoint.identification.algorithm"] == "none"
    assert isinstance(faust_broker_options(tls)["broker_credentials"], faust.SSLCredentials)
    assert not aiokafka_options(tls)["ssl_context"].check_hostname


@pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl is needed to make a client certificate"
)
def test_mutual_tls_loads_the_client_certificate(tmp_path: Path) -> None:
    key, cert = tmp_path / "client.key", tmp_path / "client.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=bridge",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    mutual = settings(
        security_protocol="SSL",
        ssl_ca_location=CA,
        ssl_certificate_location=cert,
        ssl_key_location=key,
    )
    config = confluent_config(mutual)
    assert (config["ssl.certificate.location"], config["ssl.key.location"]) == (str(cert), str(key))
    assert isinstance(aiokafka_options(mutual)["ssl_context"], ssl.SSLContext)


def test_the_password_never_shows_in_the_settings_repr() -> None:
    assert "not-in-logs" not in repr(SASL_SSL)
    assert "not-in-logs" not in str(SASL_SSL.model_dump())


OAUTH = settings(
    security_protocol="SASL_SSL",
    sasl_mechanism="OAUTHBEARER",
    sasl_oauthbearer_token_endpoint_url="https://login.example/oauth2/token",
    sasl_oauthbearer_client_id="bridge-client",
    sasl_oauthbearer_client_secret="client-secret-not-in-logs",
    sasl_oauthbearer_scope="kafka",
    sasl_oauthbearer_extensions="logicalCluster=lkc-1, identityPoolId=pool-2",
    ssl_ca_location=CA,
)


def test_librdkafka_gets_its_oidc_client_credentials_flow_and_accepts_it() -> None:
    config = producer_config(OAUTH)
    assert config["sasl.mechanism"] == "OAUTHBEARER"
    assert config["sasl.oauthbearer.method"] == "oidc"
    assert config["sasl.oauthbearer.token.endpoint.url"] == "https://login.example/oauth2/token"
    assert config["sasl.oauthbearer.client.id"] == "bridge-client"
    assert config["sasl.oauthbearer.client.secret"] == "client-secret-not-in-logs"
    assert config["sasl.oauthbearer.scope"] == "kafka"
    assert config["sasl.oauthbearer.extensions"] == "logicalCluster=lkc-1,identityPoolId=pool-2"
    assert "sasl.username" not in config
    Producer(config).flush(0)  # librdkafka refuses a property it does not know at creation


def test_aiokafka_and_faust_get_a_client_credentials_token_provider() -> None:
    options = aiokafka_options(OAUTH)
    assert options["sasl_mechanism"] == "OAUTHBEARER"
    provider = options["sasl_oauth_token_provider"]
    assert isinstance(provider, ClientCredentialsTokens)
    assert provider.extensions() == {"logicalCluster": "lkc-1", "identityPoolId": "pool-2"}
    assert "sasl_plain_username" not in options
    credentials = faust_broker_options(OAUTH)["broker_credentials"]
    assert isinstance(credentials, faust.OAuthCredentials)
    assert isinstance(credentials.oauth_cb, ClientCredentialsTokens)
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    assert "client-secret-not-in-logs" not in repr(OAUTH)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"sasl_oauthbearer_client_secret": None}, "PSB_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET"),
        ({"sasl_oauthbearer_token_endpoint_url": None}, "TOKEN_ENDPOINT_URL"),
        ({"sasl_oauthbearer_token_endpoint_url": "http://login.example/t"}, "https://"),
        ({"sasl_oauthbearer_extensions": "logicalCluster"}, "key=value"),
        ({"sasl_oauthbearer_extensions": "auth=x"}, "key=value"),
    ],
)
def test_an_incomplete_or_unsafe_oauthbearer_setting_is_refused_by_name(
    changes: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(named)):
        settings(**{**OAUTH.model_dump(), **changes})
