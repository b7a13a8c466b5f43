"""``peer-support sink CHANNEL``: run the sink of one channel until SIGTERM.

Loads the channel's settings, checks every template (a broken one stops the process here,
with the file and line, exit 2), waits up to ``PSB_KAFKA_CONNECT_TIMEOUT_S`` for the broker
(else exit 3), reads past receipts, then consumes
``notifications.<channel>`` and serves ``/health/live`` and ``/health/ready``.
"""

from __future__ import annotations

import asyncio
import signal
from enum import StrEnum
from typing import Annotated

import typer

from connectors.base import Sink
from connectors.base.delivery import DeliverySettings
from connectors.base.health import HealthServer
from connectors.base.runner import SinkRunner
from connectors.messages import BrokenTemplateError, Templates, TemplateSettings
from peer_support.exits import broker_errors, broker_or_exit, fail, settings_or_exit
from runtime import settings as config
from runtime.logging import configure, get_logger
from runtime.topics import Topics
from schemas import Channel

log = get_logger("sink")


class SinkChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    TEAMS = "teams"
    SLACK = "slack"
    WEBHOOK = "webhook"
    OUTBOX = "outbox"


def build_sink(channel: Channel, templates: Templates) -> Sink:
    """The sink of ``channel`` with its settings from the environment."""

    if channel is Channel.EMAIL:
        from connectors.email import EmailSink, SmtpSettings

        return EmailSink(settings_or_exit(SmtpSettings), templates)
    if channel is Channel.TEAMS:
        from connectors.teams import TeamsSettings, TeamsSink

        return TeamsSink(settings_or_exit(TeamsSettings), templates)
    if channel is Channel.SLACK:
        from connectors.slack import SlackSettings, SlackSink

        return SlackSink(settings_or_exit(SlackSettings), templates)
    if channel is Channel.SMS:
        from connectors.sms import SmsSettings, SmsSink

        return SmsSink(settings_or_exit(SmsSettings), templates)
    if channel is Channel.WEBHOOK:
        from connectors.webhook import WebhookSettings, WebhookSink

        return WebhookSink(settings_or_exit(WebhookSettings), templates)
    from connectors.outbox import OutboxSink

    return OutboxSink()


async def serve(runner: SinkRunner, delivery: DeliverySettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    health = HealthServer(
        delivery.health_host, delivery.health_port, lambda: runner.ready, runner.metrics.registry
    )
    await health.start()
    log.info("sink started", topic=runner.topics[0], port=delivery.health_port)
    try:
        await runner.run(stop)
    finally:
        await health.stop()


def _topics_of(channel: Channel, topics: Topics) -> list[str]:
    """The outbox prints what every channel would send, so a policy can be tried out
    without any channel set up; the other sinks read their own channel only."""
    if channel is Channel.OUTBOX:
        return [topics.notifications(each) for each in Channel]
    return [topics.notifications(channel)]


def sink(
    channel: Annotated[SinkChannel, typer.Argument(help="The channel to deliver.")],
) -> None:
    """Deliver one channel's notifications (email, sms, teams, slack or webhook); outbox
    prints every channel's notifications instead of sending them, to try a policy out."""
    from connectors.answers.tokens import AnswersSettings

    configure(settings_or_exit(config.LogSettings).level)
    kafka = settings_or_exit(config.KafkaSettings)
    delivery = settings_or_exit(DeliverySettings)
    chosen = Channel(channel.value)
    try:
        templates = Templates.from_settings(
            settings_or_exit(TemplateSettings), settings_or_exit(AnswersSettings)
        )
        templates.check()
        built = build_sink(chosen, templates)
    except (BrokenTemplateError, ValueError) as exc:
        fail(str(exc))
    broker_or_exit(kafka, log)
    runner = SinkRunner(
        built,
        kafka,
        _topics_of(chosen, Topics(kafka.topic_prefix)),
        group_id=f"{kafka.topic_prefix}peer-support-sink-{chosen.value}",
        settings=delivery,
        channel=chosen,
    )
    with broker_errors(kafka, log):  # one that answered at start, then went away
        asyncio.run(serve(runner, delivery))
