"""The answer page against another site: a cross-site POST gets a friendly 403 and records
nothing, the page cannot be framed, and a real browser's own click still records its answer.
The endpoint is the real process on the real broker; the browser is Chromium."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.answers.server import Outcome
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Answer, Language
from tests.integration.test_answers import offer, responses, token
from tests.support.answers import AnswersProcess
from tools.kafka import produce

CHROMIUM = Path("/usr/bin/chromium")
ELSEWHERE = "http://attacker.example"


@pytest.fixture(scope="module")
def endpoint(
    kafka_factory: Callable[..., KafkaSettings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[KafkaSettings, AnswersProcess]]:
    kafka = kafka_factory()
    for employee in ("XS-1", "XS-2", "XS-3"):
        made = offer(employee)
        topic = Topics(kafka.topic_prefix).support_offers
        produce(kafka, topic, [made.model_dump_json()], key=made.person)
    process = AnswersProcess(kafka, tmp_path_factory.mktemp("answers")).start()
    yield kafka, process
    process.stop()


def answers_to(kafka: KafkaSettings, employee: str) -> list[Answer]:
    made = offer(employee)
    return [r.answer for r in responses(kafka) if r.offer_id == made.offer_id]


def clicks(endpoint: AnswersProcess, outcome: Outcome) -> float:
    _, text = endpoint.request("GET", "/metrics")
    prefix = f'psb_answer_clicks_total{{answer="unknown",outcome="{outcome.value}"}}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


def test_a_post_from_another_site_records_nothing(
    endpoint: tuple[KafkaSettings, AnswersProcess],
) -> None:
    kafka, answers = endpoint
    path = f"/a/{token(offer('XS-1'), Answer.ACCEPT, Language.EN)}"
    own = answers.origin
    port = own.rsplit(":", 1)[1]
    hostile = {
        "another site": {"Origin": ELSEWHERE, "Sec-Fetch-Site": "cross-site"},
        "another site, an old browser": {"Origin": ELSEWHERE},
        "a sibling origin": {"Origin": f"http://127.0.0.1:{int(port) + 1}"},
        "same site, not same origin": {"Sec-Fetch-Site": "same-site", "Origin": ELSEWHERE},
        "a sandboxed frame": {"Origin": "null"},
        "no header at all": {},
        "another scheme": {"Origin": own.replace("http://", "https://")},
    }
    for name, headers in hostile.items():
        status, page = answers.request("POST", path, {**headers, "Accept-Language": "en"})
        assert status == 403, name
        assert "it did not come from our page" in page, name
        assert "<form" not in page
    assert answers_to(kafka, "XS-1") == []
    assert clicks(answers, Outcome.CROSS_SITE) == len(hostile)

    ours = [{"Sec-Fetch-Site": "same-origin", "Origin": "null"}, {"Origin": own.upper()}]
    for headers in ours:  # the first records the answer, the second finds it recorded
        assert answers.request("POST", path, headers)[0] == 200
    assert answers_to(kafka, "XS-1") == [Answer.ACCEPT]


def test_the_page_forbids_framing_in_its_headers(
    endpoint: tuple[KafkaSettings, AnswersProcess],
) -> None:
    _, answers = endpoint
    for path in (f"/a/{token(offer('XS-2'), Answer.NOT_NOW)}", "/a/not-a-token"):
        try:
            with urllib.request.urlopen(answers.url(path), timeout=10) as response:
                headers = response.headers
        except urllib.error.HTTPError as error:
            headers = error.headers
            error.close()
        policy = [part.strip() for part in headers["Content-Security-Policy"].split(";")]
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"  # no token leaves in a Referer


@contextmanager
def attacker_site(page: str) -> Iterator[str]:
    """Another site on this machine (``localhost``, where the endpoint is ``127.0.0.1``),
    serving ``page``: a loopback page, so Chromium's rules for public pages framing local
    ones are not what stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_in_a_browser_another_site_can_neither_frame_nor_submit_and_our_button_works(
    endpoint: tuple[KafkaSettings, AnswersProcess],
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (run `make system-deps` as root)")
    from playwright.sync_api import sync_playwright

    kafka, answers = endpoint
    target = answers.url(f"/a/{token(offer('XS-3'), Answer.REMIND_LATER, Language.EN)}")
    attack = f"""<!doctype html><title>prize</title>
        <iframe id="framed" src="{target}"></iframe>
        <form id="steal" method="post" action="{target}"></form>"""
    with sync_playwright() as playwright, attacker_site(attack) as elsewhere:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(locale="en-GB")
            page.goto(f"{elsewhere}/prize", wait_until="load")
            frame = next(f for f in page.frames if f is not page.main_frame)
            for _ in range(30):  # "load" included the frame; its URL may follow a bit later
                if frame.url:
                    break
                page.wait_for_timeout(100)
            assert not frame.url.startswith(answers.origin), frame.url  # an error page, or none
            assert frame.locator("button").count() == 0
            with page.expect_navigation():
                page.evaluate("document.getElementById('steal').submit()")
            assert "it did not come from our page" in page.content()
            assert answers_to(kafka, "XS-3") == []

            page.goto(target, wait_until="load")  # the person opens the link in the message
            with page.expect_navigation():
                page.click("button")
            assert "We will remind you of the offer later" in page.content()
        finally:
            browser.close()
    assert answers_to(kafka, "XS-3") == [Answer.REMIND_LATER]
