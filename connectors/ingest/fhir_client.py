"""Reading an AdverseEvent back from the FHIR server for an id-only notification.

Only the elements the boundary reads are asked for (``_elements``), so the server does not
even send the narrative, the subject or the notes. The server is authenticated to with a
static bearer token or with OAuth2 client credentials at a token endpoint (SMART backend
services), the access token cached until shortly before it expires.

Only the URL asked for is read: a redirect is a failed read-back (it could lead to another
host, or carry the token to another path), an id must have FHIR's id syntax and cannot be
``.`` or ``..``, and every answer is read within ``max_bytes`` and the timeout.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any, Final
from urllib.parse import quote

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connectors.ingest.notifications import AdverseEventRef
from connectors.ingest.problems import Problem
from connectors.ingest.settings import FhirReadSettings
from runtime.logging import get_logger
from schemas.boundary.fhir_r4 import AdverseEventR4
from schemas.boundary.fhir_r5 import AdverseEventR5

log = get_logger("ingest-fhir")

FHIR_JSON: Final = "application/fhir+json"
TOKEN_MARGIN_S: Final = 30.0
ASSERTION_LIFETIME_S: Final = 300
CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")

# Top-level AdverseEvent elements the R4 and R5 readers of the boundary declare.
READ_BACK_ELEMENTS: Final = tuple(
    sorted(
        (set(AdverseEventR4.model_fields) | set(AdverseEventR5.model_fields))
        - {"resourceType", "id"}
    )
)


class FhirReader:
    def __init__(
        self, settings: FhirReadSettings, session: aiohttp.ClientSession, max_bytes: int
    ) -> None:
        self._settings = settings
        self._session = session
        self._max_bytes = max_bytes
        self._token: str | None = None
        self._token_expires = 0.0

    @property
    def configured(self) -> bool:
        return self._settings.base_url is not None

    def url_for(self, ref: AdverseEventRef) -> str:
        base = (self._settings.base_url or "").rstrip("/")
        if ref.base is not None and ref.base.rstrip("/") != base:
            # never follow a notification to a server we were not configured for
            raise Problem(422, "not-allowed-value", "notificationEvent.focus.reference")
        if not valid_id(ref.id):
            raise Problem(422, "invalid-identifier", "notificationEvent.focus.reference")
        return f"{base}/AdverseEvent/{quote(ref.id, safe='')}"

    async def read(self, ref: AdverseEventRef) -> bytes | None:
        """The resource as bytes; None when the server says it is gone (404/410)."""
        if not self.configured:
            raise Problem(422, "read-back-unconfigured", "notificationEvent.focus")
        url = self.url_for(ref)
        for attempt in (1, 2):
            headers = {"Accept": FHIR_JSON}
            try:
                token = await self._access_token(renew=attempt == 2)
                if token is not None:
                    headers["Authorization"] = f"Bearer {token}"
                async with self._session.get(
                    url,
                    params={"_elements": ",".join(READ_BACK_ELEMENTS)},
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self._settings.timeout_s),
                    allow_redirects=False,
                ) as response:
                    if response.status == 401 and attempt == 1 and self._uses_client_credentials:
                        continue
                    if response.status in (404, 410):
                        return None
                    if response.status != 200:
                        log.warning("read-back refused", status=response.status)
                        raise _read_back_failed(response.status)
                    return await _limited_body(response, self._max_bytes)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("read-back failed", exc_info=exc)
                raise Problem(503, "read-back-failed", headers={"Retry-After": "10"}) from None
        raise _read_back_failed(401)

    @property
    def _uses_client_credentials(self) -> bool:
        return self._settings.token_url is not None

    async def _access_token(self, renew: bool) -> str | None:
        settings = self._settings
        if settings.token_url is None:
            return settings.token.get_secret_value() if settings.token else None
        if not renew and self._token is not None and time.monotonic() < self._token_expires:
            return self._token
        form = {"grant_type": "client_credentials", "scope": settings.scope}
        auth: aiohttp.BasicAuth | None = None
        if settings.private_key is not None:
            form["client_assertion_type"] = CLIENT_ASSERTION_TYPE
            form["client_assertion"] = client_assertion(settings)
        else:
            auth = aiohttp.BasicAuth(
                settings.client_id or "",
                settings.client_secret.get_secret_value() if settings.client_secret else "",
            )
        async with self._session.post(
            settings.token_url,
            data=form,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=settings.timeout_s),
            allow_redirects=False,
        ) as response:
            if response.status != 200:
                log.warning("token request refused", status=response.status)
                raise _read_back_failed(response.status)
            grant = _json(await _limited_body(response, self._max_bytes))
        token = grant.get("access_token") if isinstance(grant, dict) else None
        if not isinstance(token, str):
            raise _read_back_failed(502)
        expires_in = grant.get("expires_in", 300)
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 300.0
        self._token = token
        self._token_expires = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_S)
        return token


def client_assertion(settings: FhirReadSettings) -> str:
    """The signed JWT of SMART backend services: this client asserting who it is to the
    token endpoint, valid for five minutes, never reused (``jti``)."""
    if settings.private_key is None or settings.token_url is None:
        raise ValueError("client assertions need private_key and token_url")
    key = serialization.load_pem_private_key(
        settings.private_key.get_secret_value().encode(), password=None
    )
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = "ES384"
    elif isinstance(key, rsa.RSAPrivateKey):
        algorithm = "RS384"
    else:
        raise ValueError("SMART backend services sign with an RSA or EC key")
    now = int(time.time())
    claims = {
        "iss": settings.client_id,
        "sub": settings.client_id,
        "aud": settings.token_url,
        "exp": now + ASSERTION_LIFETIME_S,
        "iat": now,
        "jti": secrets.token_urlsafe(24),
    }
    headers = {"kid": settings.key_id} if settings.key_id else None
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def _read_back_failed(status: int) -> Problem:
    if status >= 500 or status == 429:
        return Problem(503, "read-back-failed", headers={"Retry-After": "10"})
    return Problem(502, "read-back-failed")


def valid_id(resource_id: str) -> bool:
    """FHIR's id syntax, less the two ids a URL path resolves to another resource."""
    return FHIR_ID.fullmatch(resource_id) is not None and resource_id not in {".", ".."}


async def _limited_body(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The whole answer, refused as soon as it is known to exceed ``max_bytes``."""
    if (response.content_length or 0) > max_bytes:
        raise Problem(502, "read-back-failed")
    body = bytearray()
    while chunk := await response.content.readany():
        body += chunk
        if len(body) > max_bytes:
            raise Problem(502, "read-back-failed")
    return bytes(body)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise Problem(502, "read-back-failed") from None
