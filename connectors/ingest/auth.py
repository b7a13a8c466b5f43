"""Who may call: a bearer token, a Standard Webhooks signature (:mod:`webhooks`), and only
where allowed the older HMAC-SHA-256 of the body in ``X-Signature-256``.

Checking goes in two steps so that a body is read only for a caller who may be genuine:
:meth:`Authenticator.screen` reads the headers alone (the bearer token is decided there, a
signature is parsed and its time window checked), and :meth:`Authenticator.verify` checks
the signatures once the body is in. Every credential a request carries must verify, and one
this server has no key for is refused, so a wrong signature next to a right token is noticed.
Secrets are compared with :func:`hmac.compare_digest`, so the time taken does not tell how
much of a guess was right.

Neither signature covers the path, the query or the other headers (Standard Webhooks signs
id, timestamp and body only): TLS keeps them from being changed on the way, and the id's
single use keeps a captured request from being sent again. The body HMAC has no id, which is
why it needs ``PSB_INGEST_ALLOW_BODY_HMAC``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import SecretStr

from connectors.ingest.problems import Problem
from connectors.ingest.settings import IngestSettings
from connectors.ingest.webhooks import SIGNATURE_HEADER as WEBHOOK_SIGNATURE
from connectors.ingest.webhooks import WebhookHeaders, WebhookVerifier

SIGNATURE_HEADER: Final = "X-Signature-256"
SIGNATURE_PREFIX: Final = "sha256="
BEARER: Final = "bearer"
WEBHOOK: Final = "webhook"
BODY_HMAC: Final = "body-hmac"

_HEX_DIGEST: Final = re.compile(r"sha256=([0-9a-f]{64})", re.IGNORECASE)


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Signature-256`` value a sender computes (also used by tests)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Screened:
    """What a request's headers showed, before its body is read."""

    bearer: bool = False
    webhook: WebhookHeaders | None = None
    body_hmac: bytes | None = None

    @property
    def authenticated(self) -> bool:
        """Known from the headers alone to come from a holder of a credential."""
        return self.bearer

    @property
    def pending(self) -> bool:
        """A signature still to be checked against the body."""
        return self.webhook is not None or self.body_hmac is not None

    @property
    def credential(self) -> str | None:
        """The credential whose allowance the request spends, once verified."""
        if self.bearer:
            return BEARER
        if self.webhook is not None:
            return WEBHOOK
        return BODY_HMAC if self.body_hmac is not None else None


@dataclass(frozen=True)
class Authenticator:
    token: bytes | None
    hmac_secret: bytes | None = None
    webhook: WebhookVerifier | None = None
    allow_unauthenticated: bool = False

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> Authenticator:
        key = settings.webhook_key()
        return cls(
            token=_secret(settings.token),
            hmac_secret=_secret(settings.hmac_secret) if settings.allow_body_hmac else None,
            webhook=WebhookVerifier(key, settings.webhook_tolerance_s) if key else None,
            allow_unauthenticated=settings.allow_unauthenticated,
        )

    @property
    def accepts_callers(self) -> bool:
        """Whether any request at all could pass (readiness says so)."""
        return bool(self.token or self.hmac_secret or self.webhook or self.allow_unauthenticated)

    def screen(self, headers: Mapping[str, str]) -> Screened:
        """The headers' verdict; a 401 (or, for a webhook-id accepted before, 409)
        :class:`Problem` when they already show the request cannot pass."""
        authorization = _printable(headers, "Authorization")
        signature = _printable(headers, SIGNATURE_HEADER)
        webhook = WebhookHeaders.parse(headers)
        if authorization is None and signature is None and webhook is None:
            if self.allow_unauthenticated:
                return Screened()
            raise Problem.unauthorized()
        return Screened(
            bearer=authorization is not None and self._bearer(authorization),
            webhook=self._webhook(webhook) if webhook is not None else None,
            body_hmac=self._body_hmac(signature) if signature is not None else None,
        )

    def verify(self, screened: Screened, body: bytes) -> None:
        """Check every signature the headers carried against the body."""
        if screened.body_hmac is not None:
            expected = hmac.new(self.hmac_secret or b"", body, hashlib.sha256).digest()
            if not hmac.compare_digest(expected, screened.body_hmac):
                raise Problem.unauthorized("bad-signature", SIGNATURE_HEADER)
        if screened.webhook is not None and self.webhook is not None:
            self.webhook.verify(screened.webhook, body)

    def claim(self, screened: Screened) -> str | None:
        """Mark a verified webhook's id as used (409 when it already is); its id."""
        if screened.webhook is None or self.webhook is None:
            return None
        self.webhook.claim(screened.webhook)
        return screened.webhook.msg_id

    def _bearer(self, authorization: str) -> bool:
        if self.token is None:
            raise Problem.unauthorized("unverifiable-credential", "Authorization")
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != BEARER or not hmac.compare_digest(
            presented.strip().encode(), self.token
        ):
            raise Problem.unauthorized()
        return True

    def _webhook(self, headers: WebhookHeaders) -> WebhookHeaders:
        if self.webhook is None:
            raise Problem.unauthorized("unverifiable-credential", WEBHOOK_SIGNATURE)
        self.webhook.screen(headers)
        return headers

    def _body_hmac(self, signature: str) -> bytes:
        if self.hmac_secret is None:
            raise Problem.unauthorized("unverifiable-credential", SIGNATURE_HEADER)
        match = _HEX_DIGEST.fullmatch(signature.strip())
        if match is None:
            raise Problem.unauthorized("malformed-credentials", SIGNATURE_HEADER)
        return bytes.fromhex(match[1])


def _secret(value: SecretStr | None) -> bytes | None:
    return (value.get_secret_value().encode() or None) if value is not None else None


def _printable(headers: Mapping[str, str], name: str) -> str | None:
    """A credential header as text, or a 401 when it holds anything but printable ASCII
    (aiohttp hands on bytes that are not UTF-8 as surrogates, which cannot be encoded)."""
    value = headers.get(name)
    if value is not None and not (value.isascii() and value.isprintable()):
        raise Problem.unauthorized("malformed-credentials", name)
    return value
