"""Evaluation figures from the real pipeline: offers, answers and reminders are counted per
month, unit, profession and scheme; the report command, the evaluation page and its CSV
download show them k-anonymously; the page renders its charts in a real browser, in the
reader's language, without console errors and without WCAG 2.1 A/AA violations (axe-core)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx
import pytest

from runtime.broker import free_port
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Answer, Channel, Notification, StaffProfile, SupportResponse
from tools.kafka import TopicReader, produce, produce_keyed
from tools.worker import WorkerProcess, pseudonym

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
K = 3
PEOPLE = {f"ev-{n}": "MED-1" for n in range(1, 6)} | {
    "ev-6": "MED-2",
    "ev-7": "MED-2",
    "ev-8": "MED-2",
    "ev-9": "MED-3",
}
ANSWERS = [
    ("ev-1", Answer.ACCEPT),
    ("ev-1", Answer.ACCEPT),  # twice: counted once
    ("ev-2", Answer.ACCEPT),
    ("ev-3", Answer.ACCEPT),
    ("ev-4", Answer.ACCEPT),
    ("ev-5", Answer.NOT_NOW),
    ("ev-6", Answer.REMIND_LATER),
]


WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def wcag_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA rules on the page as shown: each violation as its rule
    id and the elements it found, so a failure says what to fix where."""
    page.evaluate((files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        WCAG_21_AA,
    )
    return [
        f"{found['id']} ({found['help']}): {[node['target'] for node in found['nodes']]}"
        for found in result["violations"]
    ]


def month_now() -> str:
    return datetime.now(ZoneInfo("Europe/Oslo")).strftime("%Y-%m")


@pytest.fixture(scope="module")
def pipeline(
    kafka_factory: Callable[..., KafkaSettings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[KafkaSettings, WorkerProcess]]:
    kafka = kafka_factory()
    topics = Topics(kafka.topic_prefix)
    produce_keyed(
        kafka,
        topics.staff_directory,
        [
            (
                ref,
                StaffProfile.model_validate(
                    {
                        "staff_ref": ref,
                        "profession": "nurse",
                        "unit_code": unit,
                        "channels": [{"channel": "email", "address": f"{ref}@sykehus.example"}],
                    }
                ).model_dump_json(),
            )
            for ref, unit in PEOPLE.items()
        ],
    )
    workdir = tmp_path_factory.mktemp("evaluation")
    worker = WorkerProcess(
        kafka,
        f"eval-{uuid.uuid4().hex[:8]}",
        workdir,
        extra_env={"PSB_EVALUATION_K": str(K), "PSB_EVALUATION_PORT": str(free_port())},
    ).start()
    reader = TopicReader(kafka, [topics.notifications(Channel.EMAIL)])
    report = {
        "format": "peer-support-bridge/incident-report",
        "version": 1,
        "report_id": uuid.uuid4().hex,
        "source_system": "itest",
        "reported_at": datetime.now(UTC).isoformat(),
        "staff": [{"staff_ref": ref, "role": "reporter"} for ref in PEOPLE],
    }
    produce(kafka, topics.incident_reports, [json.dumps(report)])
    reader.poll_until(lambda m: len(m) >= len(PEOPLE), timeout=60)
    offers = {
        n.recipient_ref: n.offer_id for n in map(Notification.model_validate_json, reader.values())
    }
    reader.close()
    for ref, answer in ANSWERS:
        person = pseudonym(ref)
        response = SupportResponse(
            offer_id=offers[person], person=person, answer=answer, answered_at=datetime.now(UTC)
        )
        produce(kafka, topics.support_responses, [response.model_dump_json()], key=person)
    worker.wait_metric('psb_answers_total{answer="accept"}', 4)
    worker.wait_metric('psb_answers_total{answer="remind-later"}', 1)
    yield kafka, worker
    worker.stop()


def evaluation_url(worker: WorkerProcess) -> str:
    """The page is on a port of its own, never the worker's health and metrics port."""
    return f"http://127.0.0.1:{worker.env['PSB_EVALUATION_PORT']}/evaluation"


def report_command(kafka: KafkaSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PSB_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "PSB_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "PSB_EVALUATION_K": str(K),
    }
    return subprocess.run(
        [sys.executable, "-m", "peer_support", "report", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_the_report_command_prints_the_month_k_anonymously(
    pipeline: tuple[KafkaSettings, WorkerProcess],
) -> None:
    kafka, worker = pipeline
    done = report_command(kafka, "--month", month_now(), "--csv")
    assert done.returncode == 0, done.stderr
    rows = {tuple(line.split(",")[:3]): line.split(",")[3:] for line in done.stdout.splitlines()}
    # people, offers, answered, accepted, declined, later, reminders
    assert rows[("MED-1", "nurse", "arbeidsgiver")][:7] == ["5", "5", "5", "4", "1", "0", "0"]
    assert rows[("MED-3", "nurse", "arbeidsgiver")][0] == "suppressed"  # one person
    assert rows[("MED-2", "nurse", "arbeidsgiver")][0] == "suppressed"  # else MED-3 = total - …
    assert rows[("*", "*", "*")][:7] == ["9", "9", "6", "4", "1", "1", "0"]
    assert rows[("*", "*", "*")][7] != ""  # a median time from report to offer

    download = httpx.get(f"{evaluation_url(worker)}.csv?month={month_now()}", timeout=10)
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.text == done.stdout  # the page's CSV is the command's, cell for cell
    bad = httpx.get(f"{evaluation_url(worker)}.csv?month=../../{month_now()}", timeout=10)
    assert (bad.status_code, bad.text) == (400, "month må være ÅÅÅÅ-MM, for eksempel 2026-11\n")

    text = report_command(kafka, "--month", month_now())
    assert text.returncode == 0
    assert "fewer than 3 people are suppressed" in text.stdout
    assert "ev-" not in text.stdout

    bad = report_command(kafka, "--month", "November")
    assert bad.returncode == 2
    assert "YYYY-MM" in bad.stderr

    assert httpx.get(worker.url("/evaluation"), timeout=5).status_code == 404  # its own port
    metrics = urllib.request.urlopen(worker.url("/metrics"), timeout=5).read().decode()
    assert "psb_report_to_offer_seconds_count 9.0" in metrics
    assert "psb_offer_to_answer_seconds_count 6.0" in metrics
    assert "ev-" not in metrics and "MED-" not in metrics


def test_the_evaluation_page_renders_in_a_browser_in_the_readers_language_and_passes_axe(
    pipeline: tuple[KafkaSettings, WorkerProcess],
) -> None:
    _, worker = pipeline
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (run `make system-deps` as root)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    violations: dict[str, list[str]] = {}
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1500}, locale="nb-NO")
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            response = page.goto(evaluation_url(worker), wait_until="load")
            assert response is not None and response.status == 200
            assert page.get_attribute("html", "lang") == "nb"
            assert page.locator("#funnel rect.bar").count() == 3
            assert page.locator("#trend rect.bar").count() == 3
            width = page.locator("#funnel rect.bar").first.bounding_box()
            assert width is not None and width["width"] > 100  # offers: the longest bar
            assert "Takket ja" in (page.locator("#funnel").text_content() or "")
            assert page.locator("#figures td.suppressed").first.text_content() == "skjult"
            assert "ev-" not in page.content()
            page.click("#trend-table >> xpath=.. >> summary")  # the trend as a table, open
            page.screenshot(path=str(ARTIFACTS / "evaluation-page.png"), full_page=True)
            violations["nb, with figures"] = wcag_violations(page)

            with page.expect_download() as download:
                page.click("#csv")
            assert download.value.suggested_filename == f"peer-support-evaluation-{month_now()}.csv"
            assert Path(download.value.path()).read_text(encoding="utf-8").startswith("unit,")

            page.click("a[hreflang=nn]")  # the language switch, kept on the month links
            assert page.get_attribute("html", "lang") == "nn"
            assert "Tilbod sende" in (page.locator(".cards").text_content() or "")
            violations["nn, with figures"] = wcag_violations(page)

            page = browser.new_page(locale="en-GB")  # Accept-Language: en-GB,en;q=0.9
            page.goto(f"{evaluation_url(worker)}?month=2001-01", wait_until="load")
            assert page.get_attribute("html", "lang") == "en"
            assert "No figures are recorded for January 2001" in (
                page.locator("#no-data-month").text_content() or ""
            )
            violations["en, without figures"] = wcag_violations(page)
        finally:
            browser.close()
    assert errors == []
    assert {name: found for name, found in violations.items() if found} == {}
