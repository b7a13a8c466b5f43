"""The worker's aiokafka clients get SASL/OAUTHBEARER tokens from a real OIDC token endpoint
(client credentials, HTTP Basic client authentication as librdkafka sends it): one token is
shared and reused, and a refused client is one line naming the settings, never the secret."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from runtime.oauthbearer import ClientCredentialsTokens, TokenEndpointError
from runtime.settings import KafkaSettings
from tests.support.fhir_server import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, FhirStandIn


@pytest.fixture(scope="module")
def endpoint() -> Iterator[FhirStandIn]:
    with FhirStandIn() as server:
        yield server


def oauth(endpoint: FhirStandIn, secret: str) -> KafkaSettings:
    return KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauthbearer_token_endpoint_url=endpoint.token_url,
        sasl_oauthbearer_client_id=CLIENT_ID,
        sasl_oauthbearer_client_secret=secret,
        sasl_oauthbearer_scope="kafka",
    )


def test_one_token_is_fetched_and_shared_until_it_nears_expiry(endpoint: FhirStandIn) -> None:
    provider = ClientCredentialsTokens(oauth(endpoint, CLIENT_SECRET))
    before = endpoint.tokens_issued

    async def connections() -> list[str]:
        return list(await asyncio.gather(*(provider.token() for _ in range(5))))

    assert asyncio.run(connections()) == [ACCESS_TOKEN] * 5
    assert endpoint.tokens_issued - before == 1


def test_a_refused_client_is_named_without_its_secret(endpoint: FhirStandIn) -> None:
    provider = ClientCredentialsTokens(oauth(endpoint, "a-wrong-secret-for-this-client"))
    with pytest.raises(TokenEndpointError) as refused:
        asyncio.run(provider.token())
    message = str(refused.value)
    assert "PSB_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET" in message or "_CLIENT_SECRET" in message
    assert "401" in message and "a-wrong-secret" not in message


def test_an_endpoint_that_does_not_answer_is_named() -> None:
    settings = KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauthbearer_token_endpoint_url="http://127.0.0.1:9/token",
        sasl_oauthbearer_client_id=CLIENT_ID,
        sasl_oauthbearer_client_secret=CLIENT_SECRET,
    )
    with pytest.raises(TokenEndpointError, match="TOKEN_ENDPOINT_URL"):
        asyncio.run(ClientCredentialsTokens(settings).token())
