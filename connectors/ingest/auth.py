"""Who may call: a bearer token or an HMAC-SHA-256 signature of the body.

Both are compared with :func:`hmac.compare_digest`, so the time a comparison takes does not
tell an attacker how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from connectors.ingest.problems import Problem
from connectors.ingest.settings import IngestSettings

SIGNATURE_HEADER: Final = "X-Signature-256"
SIGNATURE_PREFIX: Final = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    """The header value a sender computes (also used by tests and the README)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Authenticator:
    token: bytes | None
    hmac_secret: bytes | None
    allow_unauthenticated: bool = False

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> Authenticator:
        return cls(
            token=settings.token.get_secret_value().encode() if settings.token else None,
            hmac_secret=(
                settings.hmac_secret.get_secret_value().encode() if settings.hmac_secret else None
            ),
            allow_unauthenticated=settings.allow_unauthenticated,
        )

    def check(self, headers: Mapping[str, str], body: bytes) -> None:
        """Return when the request is authentic; raise a 401 :class:`Problem` otherwise.

        A request may carry either credential; a present but wrong one is refused even
        when the other would be acceptable, so a broken sender is noticed.
        """
        authorization = headers.get("Authorization")
        signature = headers.get(SIGNATURE_HEADER)
        if authorization is not None and self.token is not None:
            scheme, _, presented = authorization.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                presented.strip().encode(), self.token
            ):
                raise _unauthorized("unauthorized")
            return
        if signature is not None and self.hmac_secret is not None:
            expected = sign(self.hmac_secret, body).encode()
            if not hmac.compare_digest(signature.strip().lower().encode(), expected):
                raise _unauthorized("bad-signature")
            return
        if self.allow_unauthenticated:
            return
        raise _unauthorized("unauthorized")


def _unauthorized(reason: str) -> Problem:
    return Problem(401, reason, headers={"WWW-Authenticate": 'Bearer realm="peer-support"'})
