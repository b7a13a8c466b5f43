"""Evaluation figures from the real pipeline: offers, answers and reminders are counted per
month, unit, profession and scheme; the report command and the evaluation page show them
k-anonymously; the page renders its charts in a real browser without console errors."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from runtime.broker import free_port
from runtime.settings import KafkaSettings
from runtime.topics import Topics
from schemas import Answer, Channel, Notification, StaffProfile, SupportResponse
from tests.support.kafka import TopicReader, produce, produce_keyed
from tests.support.worker import WorkerProcess, pseudonym

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


def test_the_evaluation_page_renders_its_charts_in_a_browser(
    pipeline: tuple[KafkaSettings, WorkerProcess],
) -> None:
    _, worker = pipeline
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (run `make system-deps` as root)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1500})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            response = page.goto(evaluation_url(worker), wait_until="load")
            assert response is not None and response.status == 200
            assert page.locator("#funnel rect.bar").count() == 3
            assert page.locator("#trend rect.bar").count() == 3
            width = page.locator("#funnel rect.bar").first.bounding_box()
            assert width is not None and width["width"] > 100  # offers: the longest bar
            assert "Accepted" in (page.locator("#funnel").text_content() or "")
            assert page.locator("#figures td.suppressed").count() > 0
            assert "ev-" not in page.content()
            shot = ARTIFACTS / "evaluation-page.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert errors == []
