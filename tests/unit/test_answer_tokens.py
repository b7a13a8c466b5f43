"""Answer links: a valid link names one offer, person and answer; altered or old ones fail."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from connectors.answers.tokens import AnswerClaim, AnswersSettings, AnswerTokens, TokenError
from schemas import Answer, Language


def tokens(secret: str = "s" * 40, max_age_days: int = 30) -> AnswerTokens:
    return AnswerTokens(AnswersSettings(secret=SecretStr(secret), link_max_age_days=max_age_days))


CLAIM = AnswerClaim(
    offer_id="off_" + "0" * 32, staff_ref="ST-1", answer=Answer.ACCEPT, language=Language.NN
)


def test_a_signed_link_verifies_to_its_claim() -> None:
    signer = tokens()
    assert signer.verify(signer.sign(CLAIM)) == CLAIM


def test_links_for_each_answer_point_at_the_confirmation_page() -> None:
    links = tokens().links("off_" + "0" * 32, "ST-1", Language.EN)
    urls = {links.accept, links.not_now, links.remind_later}
    assert len(urls) == 3
    assert all(url.startswith("http://127.0.0.1:8082/a/") for url in urls)


def test_a_link_signed_with_another_key_is_refused() -> None:
    forged = tokens(secret="x" * 40).sign(CLAIM)
    with pytest.raises(TokenError) as caught:
        tokens().verify(forged)
    assert caught.value.reason == "invalid"


def test_an_altered_link_is_refused() -> None:
    token = tokens().sign(CLAIM)
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(TokenError):
        tokens().verify(altered)


def test_an_expired_link_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = tokens(max_age_days=1)
    token = signer.sign(CLAIM)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 2 * 86_400)
    with pytest.raises(TokenError) as caught:
        signer.verify(token)
    assert caught.value.reason == "expired"


def test_the_link_carries_only_references() -> None:
    assert set(AnswerClaim.model_fields) == {"offer_id", "staff_ref", "answer", "language"}
