"""Signed answer links: one token per offer, person and answer, with an expiry.

The token is the only thing in the link. It is signed (HMAC-SHA256 via itsdangerous) with
``PSB_ANSWERS_SECRET``, so a forged or altered link is refused, and it carries only opaque
references (offer id, staff reference, answer, language), never anything about the incident.
Sinks build the links when they render a notification; the answers endpoint verifies them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from runtime.settings import PsbSettings
from schemas.codes import Identifier, Language, OpaqueId
from schemas.response import Answer

SALT: Final = "peer-support-bridge/answer/v1"


class AnswersSettings(PsbSettings):
    """Signing and addressing of one-click answer links."""

    model_config = SettingsConfigDict(env_prefix="PSB_ANSWERS_", frozen=True, extra="ignore")

    secret: SecretStr | None = Field(
        None,
        min_length=32,
        description="HMAC key (at least 32 bytes) signing answer links (secret); when unset, "
        "messages carry no answer links.",
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
    staff_ref: Identifier
    answer: Answer
    language: Language


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
    """Signs and verifies answer tokens."""

    def __init__(self, settings: AnswersSettings) -> None:
        if settings.secret is None:
            raise ValueError("PSB_ANSWERS_SECRET is not set")
        self._serializer = URLSafeTimedSerializer(
            settings.secret.get_secret_value(),
            salt=SALT,
            signer_kwargs={"digest_method": hashlib.sha256},
        )
        self._max_age_s = settings.link_max_age_days * 86_400
        self._base_url = str(settings.base_url).rstrip("/")

    @classmethod
    def from_settings(cls, settings: AnswersSettings) -> AnswerTokens | None:
        """The signer, or ``None`` when answer links are not configured."""
        return cls(settings) if settings.secret is not None else None

    def sign(self, claim: AnswerClaim) -> str:
        return str(self._serializer.dumps(claim.model_dump(mode="json")))

    def verify(self, token: str) -> AnswerClaim:
        """The claim in ``token``; raises :class:`TokenError` for expired or forged ones."""
        try:
            data = self._serializer.loads(token, max_age=self._max_age_s)
        except SignatureExpired as exc:
            raise TokenError("expired") from exc
        except BadSignature as exc:
            raise TokenError("invalid") from exc
        try:
            return AnswerClaim.model_validate(data)
        except ValidationError as exc:
            raise TokenError("invalid") from exc

    def url(self, claim: AnswerClaim) -> str:
        """The link shown in a message: a page that asks for confirmation (bots only GET)."""
        return f"{self._base_url}/a/{self.sign(claim)}"

    def links(self, offer_id: str, staff_ref: str, language: Language) -> AnswerLinks:
        def link(answer: Answer) -> str:
            return self.url(
                AnswerClaim(
                    offer_id=offer_id, staff_ref=staff_ref, answer=answer, language=language
                )
            )

        return AnswerLinks(
            accept=link(Answer.ACCEPT),
            not_now=link(Answer.NOT_NOW),
            remind_later=link(Answer.REMIND_LATER),
        )
