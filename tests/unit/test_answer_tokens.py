"""Answer links: a valid link names one offer, person and answer, and shows none of them;
altered, foreign, old or hostile ones fail as ``invalid`` or ``expired``, never otherwise."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from connectors.answers.tokens import (
    TOKEN_BYTES,
    TOKEN_CHARS,
    AnswerClaim,
    AnswersSettings,
    AnswerTokens,
    TokenError,
)
from schemas import Answer, Language
from schemas.boundary import PseudonymKey, derive_id, pseudonymize_staff

KEY = PseudonymKey(b"k" * 32)
PERSON = pseudonymize_staff(KEY, "emp-1")
OFFER = derive_id(KEY, "off", "inc_" + "a" * 32, PERSON)
CLAIM = AnswerClaim(offer_id=OFFER, person=PERSON, answer=Answer.ACCEPT, language=Language.NN)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def tokens(
    secret: str = "s" * 40, max_age_days: int = 30, clock: Clock | None = None
) -> AnswerTokens:
    settings = AnswersSettings(secret=SecretStr(secret), link_max_age_days=max_age_days)
    return AnswerTokens(settings, clock=clock or Clock())


def reason(sealer: AnswerTokens, token: str) -> str:
    with pytest.raises(TokenError) as caught:
        sealer.verify(token)
    error = caught.value  # no library exception, nor its text, travels with it
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return caught.value.reason


def raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_a_sealed_link_verifies_to_its_claim() -> None:
    sealer = tokens()
    for answer in Answer:
        for language in Language:
            claim = CLAIM.model_copy(update={"answer": answer, "language": language})
            assert sealer.verify(sealer.seal(claim)) == claim


def test_a_link_shows_neither_the_offer_nor_the_person() -> None:
    links = tokens().links(OFFER, PERSON, Language.EN)
    secrets = (bytes.fromhex(OFFER[4:]), bytes.fromhex(PERSON[4:]))
    for url in (links.accept, links.not_now, links.remind_later):
        token = url.rsplit("/", 1)[1]
        assert OFFER[4:] not in url and PERSON[4:] not in url
        assert not any(value in raw(token) for value in secrets)


def test_links_for_each_answer_point_at_the_confirmation_page_and_are_short() -> None:
    sealer = tokens()
    links = sealer.links(OFFER, PERSON, Language.EN)
    urls = {links.accept, links.not_now, links.remind_later}
    assert len(urls) == 3
    assert all(url.startswith("http://127.0.0.1:8082/a/") for url in urls)
    assert all(len(url.rsplit("/", 1)[1]) == TOKEN_CHARS <= 100 for url in urls)
    assert sealer.verify(links.not_now.rsplit("/", 1)[1]).answer is Answer.NOT_NOW


def test_two_links_for_the_same_claim_look_unrelated() -> None:
    sealer = tokens()
    first, second = raw(sealer.seal(CLAIM)), raw(sealer.seal(CLAIM))
    assert first[:5] == second[:5]  # version and issue time are in the clear
    assert first[5:] != second[5:]


def test_a_link_sealed_with_another_secret_is_refused() -> None:
    assert reason(tokens(), tokens(secret="x" * 40).seal(CLAIM)) == "invalid"


def test_changing_any_single_byte_of_a_link_makes_it_invalid() -> None:
    sealer = tokens()
    token = raw(sealer.seal(CLAIM))
    for index in range(len(token)):
        for flip in (0x01, 0x80, 0xFF):
            altered = bytearray(token)
            altered[index] ^= flip
            encoded = base64.urlsafe_b64encode(bytes(altered)).rstrip(b"=").decode()
            assert reason(sealer, encoded) == "invalid", (index, flip)


def test_truncated_extended_or_respelled_links_are_invalid() -> None:
    sealer = tokens()
    token = sealer.seal(CLAIM)
    respelled = token[:-1] + ALPHABET[ALPHABET.index(token[-1]) ^ 1]  # same bytes decoded
    assert raw(respelled) == raw(token)
    for bad in (token[:-1], token[:-4], token + "A", token + "==", respelled):
        assert reason(sealer, bad) == "invalid", bad


def test_a_link_of_another_version_is_invalid() -> None:
    sealer = tokens()
    token = bytearray(raw(sealer.seal(CLAIM)))
    token[0] = 1
    assert reason(sealer, base64.urlsafe_b64encode(bytes(token)).rstrip(b"=").decode()) == (
        "invalid"
    )


def test_an_old_link_is_expired_and_one_from_the_future_invalid() -> None:
    clock = Clock()
    sealer = tokens(max_age_days=1, clock=clock)
    token = sealer.seal(CLAIM)
    clock.now = T0 + timedelta(days=1)
    assert sealer.verify(token) == CLAIM
    clock.now = T0 + timedelta(days=1, seconds=1)
    assert reason(sealer, token) == "expired"
    clock.now = T0 - timedelta(minutes=4)  # another replica's clock, a little behind
    assert sealer.verify(token) == CLAIM
    clock.now = T0 - timedelta(hours=1)
    assert reason(sealer, token) == "invalid"


def test_a_forged_link_is_invalid_even_when_old() -> None:
    clock = Clock()
    forged = tokens(secret="x" * 40, clock=clock).seal(CLAIM)
    clock.now = T0 + timedelta(days=400)
    assert reason(tokens(clock=clock), forged) == "invalid"


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "garbage",
        "..",
        "../../etc/passwd",
        "%2e%2e",
        "%41" * 30,
        "A" * TOKEN_CHARS,
        "=" * TOKEN_CHARS,
        "A" * 10_000_000,
        "é" * TOKEN_CHARS,
        "\x00" * TOKEN_CHARS,
        "A" * (TOKEN_CHARS - 1) + "\n",
        "A" * (TOKEN_CHARS - 1) + "٣",  # a digit to Unicode, not to base64
        "+" * TOKEN_CHARS,
    ],
)
def test_hostile_input_is_invalid(hostile: str) -> None:
    assert reason(tokens(), hostile) == "invalid"


SEALER = tokens()


@given(
    st.one_of(
        st.text(max_size=200),
        st.text(alphabet=ALPHABET, min_size=TOKEN_CHARS, max_size=TOKEN_CHARS),
        st.binary(min_size=TOKEN_BYTES - 1, max_size=TOKEN_BYTES + 1).map(
            lambda data: base64.urlsafe_b64encode(b"\x02" + data).rstrip(b"=").decode()
        ),
    )
)
def test_any_text_is_invalid_and_raises_nothing_else(text: str) -> None:
    assert reason(SEALER, text) == "invalid"


def test_a_claim_names_an_offer_and_a_pseudonym_only() -> None:
    assert set(AnswerClaim.model_fields) == {"offer_id", "person", "answer", "language"}
    with pytest.raises(ValueError):
        AnswerClaim(offer_id=OFFER, person="emp-1", answer=Answer.ACCEPT, language=Language.NB)
    with pytest.raises(ValueError):
        AnswerClaim(
            offer_id="ntf_" + OFFER[4:], person=PERSON, answer=Answer.ACCEPT, language=Language.NB
        )
