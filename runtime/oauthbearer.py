"""SASL/OAUTHBEARER tokens for aiokafka (the worker and the replicated views), fetched with
the OIDC client-credentials grant from the same settings librdkafka reads for its own
``sasl.oauthbearer.method=oidc``, so both kinds of client authenticate as one identity."""

from __future__ import annotations

import asyncio
import time
from typing import Final

import httpx
from aiokafka.abc import AbstractTokenProvider
from pydantic import BaseModel, ValidationError

from runtime.settings import KafkaSettings

REFRESH_MARGIN_S: Final = 60.0
"""A token is fetched again this long before it expires, so no connection meets one that
expires mid-handshake."""
TIMEOUT_S: Final = 10.0


class TokenEndpointError(Exception):
    """The token endpoint did not give a token; the message names the settings to check and
    never quotes the endpoint's answer (it may echo the client secret)."""


class _TokenAnswer(BaseModel):
    access_token: str
    expires_in: float = 300.0


class ClientCredentialsTokens(AbstractTokenProvider):  # type: ignore[misc]  # untyped base
    """One token shared by every connection of the process, renewed before it expires."""

    def __init__(self, settings: KafkaSettings) -> None:
        secret = settings.sasl_oauthbearer_client_secret  # the settings require all three
        self._url = settings.sasl_oauthbearer_token_endpoint_url or ""
        self._auth = (
            settings.sasl_oauthbearer_client_id or "",
            secret.get_secret_value() if secret else "",
        )
        self._scope = settings.sasl_oauthbearer_scope
        self._extensions = settings.oauthbearer_extensions
        self._token = ""
        self._renew_at = 0.0
        self._lock: asyncio.Lock | None = None

    async def token(self) -> str:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if time.monotonic() >= self._renew_at:
                answer = await self._fetch()
                self._token = answer.access_token
                self._renew_at = time.monotonic() + max(answer.expires_in - REFRESH_MARGIN_S, 1)
            return self._token

    def extensions(self) -> dict[str, str]:
        return dict(self._extensions)

    async def _fetch(self) -> _TokenAnswer:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        check = "check PSB_KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
                response = await client.post(self._url, data=form, auth=self._auth)
        except httpx.HTTPError as exc:
            raise TokenEndpointError(
                f"the OAUTHBEARER token endpoint did not answer ({type(exc).__name__}); {check}"
            ) from None
        if response.status_code in (400, 401, 403):
            raise TokenEndpointError(
                f"the OAUTHBEARER token endpoint refused the client ({response.status_code}); "
                "check PSB_KAFKA_SASL_OAUTHBEARER_CLIENT_ID, _CLIENT_SECRET and _SCOPE"
            )
        try:
            response.raise_for_status()
            return _TokenAnswer.model_validate_json(response.content)
        except (httpx.HTTPStatusError, ValidationError):
            raise TokenEndpointError(
                f"the OAUTHBEARER token endpoint gave no token ({response.status_code}); {check}"
            ) from None
