"""The answers part of ``make demo``: the real answers endpoint (``peer-support answers``),
a few people clicking their links, and the month's evaluation table with what it means.

The endpoint and the sinks share one :class:`AnswersSettings`, so the links in the printed
e-mail open on this endpoint for as long as the demo runs. The clicks go through it as a
browser would send them: the link is opened (GET, which records nothing), the button pressed
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
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from connectors.answers.tokens import AnswerClaim, AnswersSettings, AnswerTokens
from peer_support.report_cli import read_figures
from runtime.broker import free_port
from runtime.settings import KafkaSettings
from schemas import Answer, Notification, NotificationKind
from streams.evaluation.figures import BOUNDS_S, median_s
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


class AnswersEndpoint:
    """``peer-support answers`` on a free loopback port, with a key made for this demo."""

    def __init__(self, kafka: KafkaSettings, workdir: Path) -> None:
        port = free_port()
        self.settings = AnswersSettings(
            secret=SecretStr(secrets.token_hex(32)), base_url=f"http://127.0.0.1:{port}", port=port
        )
        self.base_url = str(self.settings.base_url).rstrip("/")
        self._kafka = kafka
        self._log = workdir / "answers.log"
        self._process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        """The endpoint's environment: the same secret, port and address the sinks use."""
        secret = self.settings.secret
        assert secret is not None  # noqa: S101 - made above
        return {
            **{key: value for key, value in os.environ.items() if not key.startswith("PSB_")},
            "PSB_KAFKA_BOOTSTRAP_SERVERS": self._kafka.bootstrap_servers,
            "PSB_KAFKA_TOPIC_PREFIX": self._kafka.topic_prefix,
            "PSB_ANSWERS_SECRET": secret.get_secret_value(),
            "PSB_ANSWERS_PORT": str(self.settings.port),
            "PSB_ANSWERS_BASE_URL": self.base_url,
        }

    def __enter__(self) -> AnswersEndpoint:
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "peer_support", "answers", "--host", "127.0.0.1"],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def wait_ready(self, timeout_s: float = 60) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _call(f"{self.base_url}/health/ready", "GET") == 200:
                return True
            time.sleep(0.3)
        return False

    def answer_some(self, delivered: list[Notification]) -> int:
        """Answer a few delivered offers, the employer's scheme (with a coordinator) first;
        returns how many offers were answered."""
        tokens = AnswerTokens(self.settings)
        offers = sorted(
            (n for n in delivered if n.kind is NotificationKind.OFFER),
            key=lambda n: n.scheme is None or n.scheme.scheme_id != "arbeidsgiver",
        )[: len(CHOICES)]
        print("\nanswers clicked on the answer page (open, confirm, confirm again):", flush=True)
        if not self.wait_ready():
            print("  the answers endpoint did not become ready: see answers.log", flush=True)
            return 0
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
        return len(offers)


def print_evaluation(kafka: KafkaSettings, delay: timedelta) -> None:
    """The month's table, then what its figures mean in this demo."""
    month = datetime.now(ZoneInfo("Europe/Oslo")).strftime("%Y-%m")
    k = EvaluationSettings().k
    rows = month_table(read_figures(kafka), month, k)
    print()
    print(as_text(rows, month, k), end="", flush=True)
    total = rows[-1].figures if rows else None
    if total is None:
        return
    to_offer = median_s(total.report_to_offer)
    to_answer = median_s(total.offer_to_answer)
    if to_offer is not None:
        hours = to_offer / 3600
        near = "near it" if abs(to_offer - delay.total_seconds()) <= BOUNDS_S[0] else "beyond it"
        print(
            f"  median_report_to_offer_h {hours:.2f}: hours from a report to its offer going "
            "out. The samples are dated a minute before they were sent and the policy's delay "
            f"is {delay.total_seconds():.0f}s, so it is {near} (medians are estimated inside "
            f"time buckets; the first is 0-{BOUNDS_S[0] // 60} minutes)."
        )
    if to_answer is not None:
        print(
            f"  median_offer_to_answer_h {to_answer / 3600:.2f}: hours from an offer to its "
            "first answer: here the clicks above, made as soon as the reminders were out."
        )
    hidden = sum(row.figures is None for row in rows)
    if hidden:
        print(
            f"  {hidden} rows read 'suppressed': each counts fewer than k={k} people, who "
            "could otherwise be recognised; the total row counts everyone."
        )
