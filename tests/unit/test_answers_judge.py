"""What a click means, before anything is recorded, and the page language without a claim."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connectors.answers.known import KnownAnswers
from connectors.answers.server import Outcome, judge
from connectors.answers.texts import language_from_header
from connectors.answers.tokens import AnswerClaim, AnswersSettings, AnswerTokens
from runtime.topics import Topics
from schemas import Answer, Language

OFFER = "off_" + "1" * 32
SIGNER = AnswerTokens(AnswersSettings(secret=SecretStr("k" * 40)))


def claim(staff_ref: str = "ST-1", answer: Answer = Answer.ACCEPT) -> str:
    return SIGNER.sign(
        AnswerClaim(offer_id=OFFER, staff_ref=staff_ref, answer=answer, language=Language.EN)
    )


def known(ready: bool = True) -> KnownAnswers:
    state = KnownAnswers()
    state.offers[OFFER] = "ST-1"
    if ready:
        state.ready.set()
    return state


def test_a_fresh_answer_is_recorded_and_the_same_one_again_is_a_repeat() -> None:
    state = known()
    assert judge(claim(), SIGNER, state).outcome is Outcome.RECORDED
    state.apply(
        Topics().support_responses,
        b'{"offer_id": "' + OFFER.encode() + b'", "staff_ref": "ST-1", "answer": "accept",'
        b' "answered_at": "2026-11-01T10:00:00Z"}',
        Topics(),
    )
    assert judge(claim(), SIGNER, state).outcome is Outcome.REPEAT
    assert judge(claim(answer=Answer.NOT_NOW), SIGNER, state).outcome is Outcome.RECORDED


def test_a_link_for_someone_elses_offer_or_before_loading_is_not_recorded() -> None:
    assert judge(claim("ST-2"), SIGNER, known()).outcome is Outcome.WRONG_OFFER
    assert judge(claim(), SIGNER, known(ready=False)).outcome is Outcome.UNAVAILABLE
    assert judge("garbage", SIGNER, known()).outcome is Outcome.INVALID


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("nn-NO,nb;q=0.8", Language.NN),
        ("no", Language.NB),
        ("en-GB,en;q=0.9", Language.EN),
        ("de-DE", Language.NB),
        (None, Language.NB),
    ],
)
def test_the_page_language_follows_the_browser_when_no_claim_can_be_trusted(
    header: str | None, language: Language
) -> None:
    assert language_from_header(header) == language
