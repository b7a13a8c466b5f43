"""How every ``peer-support`` command ends: one line and an exit code from one table, never
a traceback that might quote what was read.

====  =========================================================================
code  meaning
====  =========================================================================
0     done
1     done in part: some records were not acknowledged (``replay``); differences found
      (``topics check``)
2     bad input or settings: a file, an option, a ``PSB_*`` variable, a policy, a
      request the broker refused (permissions, a topic setting)
3     a service it needs did not answer in time, or went away: the Kafka broker
      (``PSB_KAFKA_CONNECT_TIMEOUT_S``), the directory server, the broker's Tansu
4     an unexpected error (a bug): its type and place, without its message
====  =========================================================================

Commands that log JSON (``worker``, ``ingest``, ``answers``, ``sink``, ``directory
sync-ldap``) write that line as a JSON log record; the others as ``error: ...`` on stderr.
docs/operations.md ("Exit codes") repeats the table.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from confluent_kafka import KafkaException
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from peer_support import settings_errors
from runtime import settings as config
from runtime.exit_codes import EXIT_BUG as EXIT_BUG
from runtime.exit_codes import EXIT_INPUT as EXIT_INPUT
from runtime.exit_codes import EXIT_OK as EXIT_OK
from runtime.exit_codes import EXIT_PARTLY as EXIT_PARTLY
from runtime.exit_codes import EXIT_UNAVAILABLE as EXIT_UNAVAILABLE
from runtime.kafka import BrokerRefused, BrokerUnavailable, check_broker, translate

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

UNREACHABLE_EVENT = "broker not reachable, giving up"


def fail(message: str, code: int = EXIT_INPUT, log: Any = None, event: str = "") -> NoReturn:
    """End with one line: a JSON record on ``log`` when given (``event``, the message as
    its reason), else ``error: ...`` on stderr."""
    if log is not None:
        log.error(event or "command failed", reason=message, status=code)
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit(cls: type[SettingsT]) -> SettingsT:
    try:
        return config.load(cls)
    except ValidationError as exc:
        fail("; ".join(settings_errors.describe(exc, cls)))


def broker_or_exit(kafka: config.KafkaSettings, log: Any = None) -> None:
    """Return once a broker answers; else one line naming the address and the setting, and
    exit 3 within ``PSB_KAFKA_CONNECT_TIMEOUT_S``."""
    with broker_errors(kafka, log):
        check_broker(kafka)


def kafka_or_exit(log: Any = None) -> config.KafkaSettings:
    """The Kafka settings, once a broker answers at them; else one line and an exit."""
    kafka = settings_or_exit(config.KafkaSettings)
    broker_or_exit(kafka, log)
    return kafka


@contextmanager
def broker_errors(kafka: config.KafkaSettings, log: Any = None) -> Iterator[None]:
    """A broker that stops answering, or refuses, half-way ends the command in one line."""
    try:
        yield
    except KafkaException as exc:
        translated = translate(kafka, exc)
        if isinstance(translated, BrokerUnavailable):
            fail(str(translated), EXIT_UNAVAILABLE, log, UNREACHABLE_EVENT)
        fail(str(translated), EXIT_INPUT, log, "broker refused")
    except BrokerUnavailable as exc:
        fail(str(exc), EXIT_UNAVAILABLE, log, UNREACHABLE_EVENT)
    except BrokerRefused as exc:
        fail(str(exc), EXIT_INPUT, log, "broker refused")


def report_bug(exc: Exception) -> NoReturn:
    """The last resort of :func:`peer_support.cli.main`: the exception's type and the line of
    ours nearest to it, never its message (which may quote input), and exit 4. A process
    that installed JSON logging (:func:`runtime.logging.configure`) logs it there."""
    if logging.getLogger().handlers:  # configured: the JSON log renders it safely
        logging.getLogger("uncaught").critical("uncaught exception", exc_info=exc)
        raise SystemExit(EXIT_BUG)
    ours = [_ours(frame) for frame in traceback.extract_tb(exc.__traceback__)]
    places = [place for place in ours if place]
    where = f" at {places[-1]}" if places else ""
    sys.stderr.write(
        f"error: unexpected {type(exc).__qualname__}{where}; a bug, please report it\n"
    )
    raise SystemExit(EXIT_BUG)


def _ours(frame: traceback.FrameSummary) -> str:
    """``package/module.py:line`` of a frame in our packages; empty for a library's."""
    parts = Path(frame.filename).parts
    if "site-packages" in parts:
        return ""
    starts = [index for index, part in enumerate(parts) if part in config.OUR_PACKAGES]
    return f"{'/'.join(parts[starts[0] :])}:{frame.lineno}" if starts else ""
