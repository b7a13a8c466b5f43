"""The answers part of ``make demo``: a few people click their answer links, the worker
hands accepted offers off, and the month's evaluation table is printed at the end.

The clicks go through the real answers endpoint (``peer-support answers``) as a browser
would send them: the link is opened (GET, which records nothing), the button pressed
(POST) and, to show idempotency, pressed once more.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from connectors.answers.tokens import AnswerClaim, AnswersSettings, AnswerTokens
from peer_support.report_cli import read_figures
from runtime.broker import free_port
from runtime.settings import KafkaSettings
from schemas import Answer, Notification, NotificationKind
from streams.evaluation.report import as_text, month_table
from streams.evaluation.settings import EvaluationSettings

CHOICES = (Answer.ACCEPT, Answer.NOT_NOW, Answer.REMIND_LATER, Answer.ACCEPT)


def _call(url: str, method: str) -> int:
    # the button on the page, as a browser sends it (a POST from elsewhere is refused)
    headers = {"Sec-Fetch-Site": "same-origin"} if method == "POST" else {}
    request = urllib.request.Request(  # noqa: S310 - loopback
        url, method=method, data=b"" if method == "POST" else None, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:  # not listening yet
        return 0


def _metric(port: int, prefix: str) -> float:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


def answer_some(
    kafka: KafkaSettings, delivered: list[Notification], worker_port: int, workdir: Path
) -> None:
    """Answer a few delivered offers through the answers endpoint; wait for the worker."""
    port = free_port()
    secret = secrets.token_hex(32)
    settings = AnswersSettings(
        secret=SecretStr(secret),
        base_url=f"http://127.0.0.1:{port}",
    )
    tokens = AnswerTokens(settings)
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("PSB_")},
        "PSB_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "PSB_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "PSB_ANSWERS_SECRET": secret,
        "PSB_ANSWERS_PORT": str(port),
        "PSB_ANSWERS_BASE_URL": str(settings.base_url),
    }
    with open(workdir / "answers.log", "wb") as log:
        endpoint = subprocess.Popen(
            [sys.executable, "-m", "peer_support", "answers", "--host", "127.0.0.1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    offers = sorted(  # the employer's scheme (with a coordinator) first
        (n for n in delivered if n.kind is NotificationKind.OFFER),
        key=lambda n: n.scheme is None or n.scheme.scheme_id != "arbeidsgiver",
    )[: len(CHOICES)]
    print("\nanswers clicked on the answer page (open, confirm, confirm again):", flush=True)
    try:
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and _call(f"http://127.0.0.1:{port}/health/ready", "GET") != 200
        ):
            time.sleep(0.5)
        for notification, answer in zip(offers, CHOICES, strict=False):
            claim = AnswerClaim(
                offer_id=notification.offer_id,
                person=notification.recipient_ref,
                answer=answer,
                language=notification.language,
            )
            url = tokens.url(claim)
            codes = [_call(url, "GET"), _call(url, "POST"), _call(url, "POST")]
            name = notification.display_name or notification.recipient_ref
            print(f"  {answer.value:<12} {name:<18} HTTP {codes}", flush=True)
        deadline = time.monotonic() + 60
        with suppress(OSError):
            while time.monotonic() < deadline and _metric(worker_port, "psb_answers_total") < len(
                offers
            ):
                time.sleep(0.5)
            time.sleep(1.0)
            handed = _metric(worker_port, 'psb_handoffs_total{outcome="sent"')
            print(f"  hand-offs made     {handed:.0f} (to a supporter, or the coordinator)")
    finally:
        endpoint.send_signal(signal.SIGTERM)
        try:
            endpoint.wait(timeout=20)
        except subprocess.TimeoutExpired:
            endpoint.kill()


def print_evaluation(kafka: KafkaSettings) -> None:
    month = datetime.now(ZoneInfo("Europe/Oslo")).strftime("%Y-%m")
    k = EvaluationSettings().k
    print()
    print(as_text(month_table(read_figures(kafka), month, k), month, k), end="", flush=True)
    print("  (the same table: peer-support report --month " + month + ")", flush=True)
