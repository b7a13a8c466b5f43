"""One-click answers on the real broker: a link records exactly one answer however often it
is opened or confirmed; forged, expired and mismatched links record nothing; every page
passes axe-core's WCAG 2.1 A/AA rules in Chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.answers.tokens import AnswerClaim, AnswersSettings, AnswerTokens
from runtime.clock import utc_now
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Answer, Language, StaffRole, SupportOffer, SupportResponse
from schemas.boundary import PseudonymKey, derive_id, pseudonymize_staff
from tests.integration.test_evaluation import CHROMIUM, wcag_violations
from tests.support.answers import TEST_LINK_SECRET, AnswersProcess
from tools.kafka import TopicReader, produce

NOW = datetime.now(UTC)
KEY = PseudonymKey(b"test-only-pseudonym-key-0123456789abcdef")


def person(employee: str) -> str:
    return pseudonymize_staff(KEY, employee)


def offer(employee: str) -> SupportOffer:
    return SupportOffer(
        offer_id=derive_id(KEY, "off", person(employee), NOW.isoformat()),
        incident="inc_" + "a" * 32,
        person=person(employee),
        role=StaffRole.REPORTER,
        reported_at=NOW,
        created_at=NOW,
        due_at=NOW,
        policy_version="test",
    )


def sealer(secret: str = TEST_LINK_SECRET, clock: Callable[[], datetime] = utc_now) -> AnswerTokens:
    return AnswerTokens(AnswersSettings(secret=SecretStr(secret)), clock=clock)


def token(
    made: SupportOffer,
    answer: Answer,
    language: Language = Language.NN,
    tokens: AnswerTokens | None = None,
) -> str:
    claim = AnswerClaim(
        offer_id=made.offer_id, person=made.person, answer=answer, language=language
    )
    return (tokens or sealer()).seal(claim)


@pytest.fixture(scope="module")
def setup(
    kafka_factory: Callable[..., KafkaSettings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[KafkaSettings, AnswersProcess, Path]]:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    for employee in ("ANS-1", "ANS-2", "ANS-3", "ANS-4"):
        made = offer(employee)
        produce(kafka, topics.support_offers, [made.model_dump_json()], key=made.person)
    workdir = tmp_path_factory.mktemp("answers")
    endpoint = AnswersProcess(kafka, workdir).start()
    yield kafka, endpoint, workdir
    endpoint.stop()


def responses(kafka: KafkaSettings) -> list[SupportResponse]:
    """Every answer recorded so far: the endpoint serves its page only after the broker
    acknowledged the answer, so the topic's end holds all of them, and no wait is needed to
    see that one was not recorded."""
    reader = TopicReader(kafka, [Topics(kafka.topic_prefix).support_responses])
    try:
        reader.read_to_end()
        return [SupportResponse.model_validate_json(value) for value in reader.values()]
    finally:
        reader.close()


def test_a_link_records_one_answer_however_often_it_is_opened_and_confirmed(
    setup: tuple[KafkaSettings, AnswersProcess, Path],
) -> None:
    kafka, endpoint, workdir = setup
    made = offer("ANS-1")
    path = f"/a/{token(made, Answer.ACCEPT)}"

    for _ in range(3):  # a link preview, a mail scanner, the person opening the link
        status, page = endpoint.request("GET", path)
        assert status == 200
        assert '<form method="post"' in page
        assert "eg vil gjerne snakke med ein støttekollega" in page  # Nynorsk, as the claim says
    assert responses(kafka) == []

    outcomes = [endpoint.request("POST", path) for _ in range(4)]
    assert [status for status, _ in outcomes] == [200] * 4
    assert "Ein støttekollega tek kontakt med deg" in outcomes[0][1]
    assert all("alt registrert" in page for _, page in outcomes[1:])

    recorded = responses(kafka)
    assert [(r.offer_id, r.person, r.answer) for r in recorded] == [
        (made.offer_id, person("ANS-1"), Answer.ACCEPT)
    ]

    # another replica, or the endpoint after a restart, knows the answer from the topic
    replica = AnswersProcess(kafka, workdir).start()
    try:
        status, page = replica.request("POST", path)
    finally:
        replica.stop()
    assert status == 200
    assert "alt registrert" in page
    assert len(responses(kafka)) == 1


def test_another_answer_to_the_same_offer_is_its_own_record(
    setup: tuple[KafkaSettings, AnswersProcess, Path],
) -> None:
    kafka, endpoint, _ = setup
    made = offer("ANS-2")
    before = len(responses(kafka))
    status, page = endpoint.request("POST", f"/a/{token(made, Answer.REMIND_LATER, Language.EN)}")
    assert status == 200
    assert "We will remind you" in page
    found = [r for r in responses(kafka) if r.offer_id == made.offer_id]
    assert [r.answer for r in found] == [Answer.REMIND_LATER]
    assert len(responses(kafka)) == before + 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_forged_expired_and_mismatched_links_get_a_friendly_page_and_record_nothing(
    setup: tuple[KafkaSettings, AnswersProcess, Path], method: str
) -> None:
    kafka, endpoint, _ = setup
    made = offer("ANS-3")
    before = len(responses(kafka))
    forged = token(made, Answer.ACCEPT, tokens=sealer("another-key-that-is-long-enough-0123456789"))
    a_month_ago = sealer(clock=lambda: utc_now() - timedelta(days=31))
    expired = token(made, Answer.ACCEPT, Language.EN, tokens=a_month_ago)
    unknown_offer = sealer().seal(
        AnswerClaim(
            offer_id=derive_id(KEY, "off", "nobody"),
            person=person("ANS-3"),
            answer=Answer.ACCEPT,
            language=Language.NB,
        )
    )
    someone_elses = sealer().seal(  # a real offer, but made for ANS-1
        AnswerClaim(
            offer_id=offer("ANS-1").offer_id,
            person=person("ANS-3"),
            answer=Answer.NOT_NOW,
            language=Language.NB,
        )
    )
    genuine = token(made, Answer.ACCEPT)
    tampered = genuine[:40] + ("A" if genuine[40] != "A" else "B") + genuine[41:]
    cases = {
        forged: (400, "Vi kjenner ikke igjen denne lenken"),
        forged[:-3] + "xyz": (400, "Vi kjenner ikke igjen denne lenken"),
        genuine[:-1]: (400, "Vi kjenner ikke igjen denne lenken"),
        tampered: (400, "Vi kjenner ikke igjen denne lenken"),
        "%2e%2e": (400, "Vi kjenner ikke igjen denne lenken"),
        "A" * 3000: (400, "Vi kjenner ikke igjen denne lenken"),
        "not-a-token": (400, "Vi kjenner ikke igjen denne lenken"),
        expired: (410, "Lenken er for gammel"),
        unknown_offer: (400, "Vi kjenner ikke igjen denne lenken"),
        someone_elses: (400, "Vi kjenner ikke igjen denne lenken"),
    }
    for link, (expected_status, words) in cases.items():
        status, page = endpoint.request(method, f"/a/{link}")
        assert (status, words in page) == (expected_status, True), link
        assert "<form" not in page
    status, page = endpoint.request("GET", f"/a/{expired}", {"Accept-Language": "en-GB,en"})
    assert status == 410
    assert "This link is too old" in page  # no claim to trust: the browser's language
    assert len(responses(kafka)) == before


def test_health_and_metrics(setup: tuple[KafkaSettings, AnswersProcess, Path]) -> None:
    _, endpoint, _ = setup
    assert endpoint.request("GET", "/health/live")[0] == 200
    status, text = endpoint.request("GET", "/metrics")
    assert status == 200
    assert "psb_answer_clicks_total" in text
    for family in ("process_cpu_seconds_total", "python_info", "psb_build_info"):
        assert f"\n{family}" in text, family
    assert "ANS-" not in text
    assert not any(person(e)[4:] in text for e in ("ANS-1", "ANS-2", "ANS-3"))


def test_every_answer_page_passes_axe_wcag_21_aa_in_chromium(
    setup: tuple[KafkaSettings, AnswersProcess, Path],
) -> None:
    _, endpoint, _ = setup
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (run `make system-deps` as root)")
    from playwright.sync_api import sync_playwright

    made = offer("ANS-4")
    a_month_ago = sealer(clock=lambda: utc_now() - timedelta(days=31))
    violations: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(locale="en-GB")
            page.goto(endpoint.url(f"/a/{token(made, Answer.ACCEPT, Language.NB)}"))
            assert page.get_attribute("html", "lang") == "nb"
            violations["confirm (nb)"] = wcag_violations(page)
            with page.expect_navigation():
                page.click("button")
            assert "En støttekollega tar kontakt med deg" in page.content()
            violations["done (nb)"] = wcag_violations(page)
            expired = token(made, Answer.ACCEPT, tokens=a_month_ago)
            answer = page.goto(endpoint.url(f"/a/{expired}"))
            assert answer is not None and answer.status == 410
            assert "This link is too old" in page.content()  # the browser's language
            violations["expired (en)"] = wcag_violations(page)  # every error page's layout
        finally:
            browser.close()
    assert {name: found for name, found in violations.items() if found} == {}
