"""``peer-support topics``: create the bridge's topics with their settings, or check a
cluster whose topics someone else manages (the Strimzi operator, a GitOps repository)."""

from __future__ import annotations

import typer

from peer_support.exits import EXIT_PARTLY, broker_errors, broker_or_exit, settings_or_exit
from runtime import settings as config
from runtime.topics import Topics, apply_topic_settings, ensure_topics, topic_differences

topics_app = typer.Typer(
    help="The bridge's Kafka topics: create them with their settings, or check them.",
    no_args_is_help=True,
)


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the bridge that does not exist yet, and give every topic the
    retention and cleanup policy it should have (also topics that exist already)."""
    kafka = settings_or_exit(config.KafkaSettings)
    specs = Topics.of(kafka).specs()
    broker_or_exit(kafka)
    with broker_errors(kafka):
        created = ensure_topics(kafka, specs)
        typer.echo(f"{created} topics created")
        changed = apply_topic_settings(kafka, specs)
        typer.echo(f"{changed} topics' settings changed")


@topics_app.command("check")
def topics_check() -> None:
    """Say how the cluster's topics differ from what the bridge needs (missing topics, their
    partition count, retention and cleanup policy), changing nothing; exit 1 when any
    differs."""
    kafka = settings_or_exit(config.KafkaSettings)
    specs = Topics.of(kafka).specs()
    broker_or_exit(kafka)
    with broker_errors(kafka):
        differences = topic_differences(kafka, specs)
    for difference in differences:
        typer.echo(str(difference))
    differing = len({difference.topic for difference in differences})
    typer.echo(f"{len(specs)} topics checked: {len(specs) - differing} as they should be")
    if differences:
        raise typer.Exit(EXIT_PARTLY)
