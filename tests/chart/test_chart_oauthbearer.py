"""Kafka with SASL/OAUTHBEARER from the chart's values: every container gets the OIDC
settings and the client secret from the existing Secret, KEDA authenticates the same way,
and an incomplete setup is refused at install with the value to set."""

from __future__ import annotations

import pytest

from tests.support.chart import containers, deep_merge, find, render, render_error, value_set

FULLNAME = "psb-peer-support-bridge"


def test_every_container_gets_the_oidc_client_credentials_and_the_secret_reference() -> None:
    objects = render(value_set("oauthbearer"))
    for container in containers(objects):
        assert container.literal("PSB_KAFKA_SECURITY_PROTOCOL") == "SASL_SSL", container.name
        assert container.literal("PSB_KAFKA_SASL_MECHANISM") == "OAUTHBEARER"
        endpoint = str(container.literal("PSB_KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL"))
        assert endpoint.startswith("https://login.microsoftonline.com/")
        client = container.literal("PSB_KAFKA_SASL_OAUTHBEARER_CLIENT_ID")
        assert client == "11111111-2222-3333-4444-555555555555"
        assert container.literal("PSB_KAFKA_SASL_OAUTHBEARER_SCOPE") == "api://kafka/.default"
        extensions = container.literal("PSB_KAFKA_SASL_OAUTHBEARER_EXTENSIONS")
        assert extensions == "logicalCluster=lkc-12345,identityPoolId=pool-abcd"
        ref = container.env["PSB_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET"]["valueFrom"]
        assert ref["secretKeyRef"] == {
            "name": "peer-support-bridge-kafka-oauth",
            "key": "client-secret",
        }
        assert "PSB_KAFKA_SASL_PASSWORD" not in container.env
        assert "PSB_KAFKA_SASL_USERNAME" not in container.env


def test_keda_scales_with_the_same_oauth_client() -> None:
    objects = render(value_set("oauthbearer"))
    scaler = find(objects, "ScaledObject", f"{FULLNAME}-worker")
    assert scaler["spec"]["triggers"][0]["metadata"]["sasl"] == "oauthbearer"
    auth = find(objects, "TriggerAuthentication", f"{FULLNAME}-worker-kafka")
    parameters = {p["parameter"] for p in auth["spec"].get("env", [])} | {
        p["parameter"] for p in auth["spec"].get("secretTargetRef", [])
    }
    assert {"username", "password", "oauthTokenEndpointUri", "scopes"} <= parameters


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"tokenEndpointUrl": ""}, "kafka.sasl.oauthbearer.tokenEndpointUrl"),
        ({"clientId": ""}, "kafka.sasl.oauthbearer.clientId"),
    ],
)
def test_an_incomplete_oauth_setup_is_refused_naming_the_value(
    missing: dict[str, str], named: str
) -> None:
    values = deep_merge(value_set("oauthbearer"), {"kafka": {"sasl": {"oauthbearer": missing}}})
    assert named in render_error(values)


def test_a_token_endpoint_over_plain_http_is_refused_by_the_schema() -> None:
    values = deep_merge(
        value_set("oauthbearer"),
        {"kafka": {"sasl": {"oauthbearer": {"tokenEndpointUrl": "http://idp.example/token"}}}},
    )
    assert "tokenEndpointUrl" in render_error(values)
