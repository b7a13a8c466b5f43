"""What a click means, before anything is recorded, and the page language without a claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import AnyHttpUrl, SecretStr

from connectors.answers.known import KnownAnswers
from connectors.answers.origin import origin_of, same_origin
from connectors.answers.server import Outcome, judge
from connectors.answers.texts import language_from_header
from connectors.answers.tokens import AnswerClaim, AnswersSettings, AnswerTokens
from runtime.topics import Topics
from schemas import Answer, Language, StaffRole, SupportOffer, SupportResponse
from schemas.boundary import PseudonymKey, derive_id, pseudonymize_staff

KEY = PseudonymKey(b"k" * 32)
PERSON = pseudonymize_staff(KEY, "emp-1")
SOMEONE_ELSE = pseudonymize_staff(KEY, "emp-2")
OFFER = derive_id(KEY, "off", "inc_" + "1" * 32, PERSON)
NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
SEALER_SETTINGS = AnswersSettings(secret=SecretStr("k" * 40))
SEALER = AnswerTokens(SEALER_SETTINGS, clock=lambda: NOW)


def claim(person: str = PERSON, answer: Answer = Answer.ACCEPT) -> str:
    return SEALER.seal(
        AnswerClaim(offer_id=OFFER, person=person, answer=answer, language=Language.EN)
    )


def known(ready: bool = True) -> KnownAnswers:
    state = KnownAnswers()
    state.offers[OFFER] = PERSON
    if ready:
        state.ready.set()
    return state


def test_a_fresh_answer_is_recorded_and_the_same_one_again_is_a_repeat() -> None:
    state = known()
    assert judge(claim(), SEALER, state).outcome is Outcome.RECORDED
    recorded = SupportResponse(offer_id=OFFER, person=PERSON, answer=Answer.ACCEPT, answered_at=NOW)
    state.apply(Topics().support_responses, recorded.model_dump_json().encode(), Topics())
    assert judge(claim(), SEALER, state).outcome is Outcome.REPEAT
    assert judge(claim(answer=Answer.NOT_NOW), SEALER, state).outcome is Outcome.RECORDED


def test_an_offer_read_from_the_topic_belongs_to_its_person() -> None:
    state = KnownAnswers()
    made = SupportOffer(
        offer_id=OFFER,
        incident="inc_" + "1" * 32,
        person=PERSON,
        role=StaffRole.INVOLVED,
        reported_at=NOW,
        created_at=NOW,
        due_at=NOW,
        policy_version="test",
    )
    state.apply(Topics().support_offers, made.model_dump_json().encode(), Topics())
    assert state.owner(OFFER) == PERSON
    assert state.owner(derive_id(KEY, "off", "another")) is None


def test_a_link_for_someone_elses_offer_or_before_loading_is_not_recorded() -> None:
    assert judge(claim(SOMEONE_ELSE), SEALER, known()).outcome is Outcome.WRONG_OFFER
    assert judge(claim(), SEALER, known(ready=False)).outcome is Outcome.UNAVAILABLE
    assert judge("garbage", SEALER, known()).outcome is Outcome.INVALID
    late = AnswerTokens(SEALER_SETTINGS, clock=lambda: NOW + timedelta(days=31))
    assert judge(claim(), late, known()).outcome is Outcome.EXPIRED


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


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        ("https://Svar.HF.example/", "https://svar.hf.example"),
        ("https://svar.hf.example:443/a/", "https://svar.hf.example"),
        ("https://svar.hf.example:8443", "https://svar.hf.example:8443"),
        ("http://127.0.0.1:8082", "http://127.0.0.1:8082"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
    ],
)
def test_the_origin_is_written_as_a_browser_sends_it(base_url: str, origin: str) -> None:
    assert origin_of(AnyHttpUrl(base_url)) == origin


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Sec-Fetch-Site": "same-origin", "Origin": "null"}, True),
        ({"Sec-Fetch-Site": "none"}, True),
        ({"Origin": "https://svar.hf.example"}, True),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, False),
        ({"Sec-Fetch-Site": "same-site", "Origin": "https://other.hf.example"}, False),
        ({"Origin": "https://svar.hf.example.evil.example"}, False),
        ({"Origin": "null"}, False),
        ({}, False),
    ],
)
def test_only_our_own_page_may_post(headers: dict[str, str], allowed: bool) -> None:
    assert same_origin(headers, "https://svar.hf.example") is allowed
