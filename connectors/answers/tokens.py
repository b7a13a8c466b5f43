"""Encrypted answer links: one token per offer, person and answer, with an expiry.

The token is the only thing in the link, and links travel where we do not: SMS gateways,
mail scanners, chat previews, browser history. So the token is sealed with AES-GCM, not
merely signed: whoever sees a link learns neither the offer id nor the person's pseudonym,
and cannot tell two links of one person apart. A forged, altered or truncated token fails
authentication and is refused as ``invalid``; only then is its age looked at.

Layout (version 2, base64url without padding, 90 characters)::

    version (1) | issued_at (uint32 BE, unix s) | nonce (12) | AES-GCM(plaintext) + tag (16)
    plaintext = offer id (16) | person (16) | answer (1) | language (1)

The version and issued_at are associated data. The key is derived from
``PSB_ANSWERS_SECRET`` with HKDF under an info string of its own, so it is never the key
of another use of the same secret.
"""

from __future__ import annotations

import base64
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from runtime.clock import utc_now
from runtime.settings import PsbSettings
from schemas.codes import Language, OpaqueId, StaffPseudonym
from schemas.response import Answer

VERSION: Final = 2
KDF_INFO: Final = b"peer-support-bridge/answer-link/v2"
CLOCK_SKEW_S: Final = 300
"""How far in the future a token's issue time may lie (another replica's clock)."""

OFFER_PREFIX: Final = "off_"
PERSON_PREFIX: Final = "stf_"
ANSWERS: Final = (Answer.ACCEPT, Answer.NOT_NOW, Answer.REMIND_LATER)
LANGUAGES: Final = (Language.NB, Language.NN, Language.EN)
"""Wire order of answers and languages: fixed here, so reordering an enum breaks no link."""

_HEADER: Final = struct.Struct(">BI")
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
_PLAINTEXT_BYTES: Final = 16 + 16 + 1 + 1
TOKEN_BYTES: Final = _HEADER.size + _NONCE_BYTES + _PLAINTEXT_BYTES + _TAG_BYTES
TOKEN_CHARS: Final = (TOKEN_BYTES * 8 + 5) // 6
_TOKEN_RE: Final = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_CHARS}}}")


class AnswersSettings(PsbSettings):
    """Sealing and addressing of one-click answer links."""

    model_config = SettingsConfigDict(env_prefix="PSB_ANSWERS_", frozen=True, extra="ignore")

    secret: SecretStr | None = Field(
        None,
        min_length=32,
        description="Key (at least 32 bytes) from which the answer links' encryption key is "
        "derived (secret); when unset, messages carry no answer links.",
    )
    base_url: AnyHttpUrl = Field(
        AnyHttpUrl("http://127.0.0.1:8082"),
        description="Public address of the answers endpoint, as links in messages show it.",
    )
    link_max_age_days: int = Field(30, ge=1, le=365, description="Days an answer link stays valid.")
    port: int = Field(8082, ge=1, le=65535, description="Port of `peer-support answers`.")


class AnswerClaim(BaseModel):
    """What a verified token says."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    offer_id: OpaqueId
    person: StaffPseudonym
    answer: Answer
    language: Language

    @field_validator("offer_id")
    @classmethod
    def _an_offer(cls, value: str) -> str:
        if not value.startswith(OFFER_PREFIX):  # the token keeps the hex, not the prefix
            raise ValueError(f"an answer link names an offer ({OFFER_PREFIX}...)")
        return value


class TokenError(Exception):
    """A link that cannot be honoured; ``reason`` is ``expired`` or ``invalid``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AnswerLinks:
    accept: str
    not_now: str
    remind_later: str


class AnswerTokens:
    """Seals and opens answer tokens."""

    def __init__(self, settings: AnswersSettings, clock: Callable[[], datetime] = utc_now) -> None:
        if settings.secret is None:
            raise ValueError("PSB_ANSWERS_SECRET is not set")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KDF_INFO).derive(
            settings.secret.get_secret_value().encode()
        )
        self._aead = AESGCM(key)
        self._clock = clock
        self._max_age_s = settings.link_max_age_days * 86_400
        self._base_url = str(settings.base_url).rstrip("/")

    @classmethod
    def from_settings(cls, settings: AnswersSettings) -> AnswerTokens | None:
        """The sealer, or ``None`` when answer links are not configured."""
        return cls(settings) if settings.secret is not None else None

    def seal(self, claim: AnswerClaim) -> str:
        """A fresh token for ``claim`` (a new nonce each time, so no two links look alike)."""
        header = _HEADER.pack(VERSION, int(self._clock().timestamp()))
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, _pack(claim), header)
        return base64.urlsafe_b64encode(header + nonce + sealed).rstrip(b"=").decode("ascii")

    def verify(self, token: str) -> AnswerClaim:
        """The claim in ``token``; raises :class:`TokenError` for expired or forged ones.

        Authentication comes first: an altered token is ``invalid``, never ``expired``.
        """
        raw = _decode(token)
        header = raw[: _HEADER.size]
        version, issued_at = _HEADER.unpack(header)
        if version != VERSION:
            raise TokenError("invalid")
        nonce = raw[_HEADER.size : _HEADER.size + _NONCE_BYTES]
        try:
            plaintext = self._aead.decrypt(nonce, raw[_HEADER.size + _NONCE_BYTES :], header)
        except InvalidTag:
            raise TokenError("invalid") from None
        age = int(self._clock().timestamp()) - issued_at
        if age < -CLOCK_SKEW_S:
            raise TokenError("invalid")
        if age > self._max_age_s:
            raise TokenError("expired")
        return _unpack(plaintext)

    def url(self, claim: AnswerClaim) -> str:
        """The link shown in a message: a page that asks for confirmation (bots only GET)."""
        return f"{self._base_url}/a/{self.seal(claim)}"

    def links(self, offer_id: str, person: str, language: Language) -> AnswerLinks:
        def link(answer: Answer) -> str:
            return self.url(
                AnswerClaim(offer_id=offer_id, person=person, answer=answer, language=language)
            )

        return AnswerLinks(
            accept=link(Answer.ACCEPT),
            not_now=link(Answer.NOT_NOW),
            remind_later=link(Answer.REMIND_LATER),
        )


def _pack(claim: AnswerClaim) -> bytes:
    return (
        bytes.fromhex(claim.offer_id.removeprefix(OFFER_PREFIX))
        + bytes.fromhex(claim.person.removeprefix(PERSON_PREFIX))
        + bytes((ANSWERS.index(claim.answer), LANGUAGES.index(claim.language)))
    )


def _unpack(plaintext: bytes) -> AnswerClaim:
    answer, language = plaintext[32], plaintext[33]
    if answer >= len(ANSWERS) or language >= len(LANGUAGES):  # sealed by a newer release
        raise TokenError("invalid")
    return AnswerClaim(
        offer_id=OFFER_PREFIX + plaintext[:16].hex(),
        person=PERSON_PREFIX + plaintext[16:32].hex(),
        answer=ANSWERS[answer],
        language=LANGUAGES[language],
    )


def _decode(token: str) -> bytes:
    """The token's bytes, or ``invalid``: the exact length and alphabet are checked before
    decoding, and only the canonical spelling is accepted (no two strings for one token)."""
    if len(token) != TOKEN_CHARS or _TOKEN_RE.fullmatch(token) is None:
        raise TokenError("invalid")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    if len(raw) != TOKEN_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=") != token.encode():
        raise TokenError("invalid")
    return raw
