"""The JSON log refuses fields it does not know, exception messages that may quote input, and
the arguments of any library's log record."""

from __future__ import annotations

import io
import json
import logging
import random
import string
import sys
import warnings

import pytest
from pydantic import BaseModel, ValidationError

from runtime.logging import (
    MAX_MESSAGE_CHARS,
    MESSAGE_WITHHELD,
    REPEAT_WINDOW_S,
    configure,
    get_logger,
)
from schemas.boundary import BoundaryError
from schemas.dead_letter import Reason


def marker() -> str:
    return "MRK" + "".join(random.choices(string.ascii_uppercase, k=12))


@pytest.fixture
def log_output() -> io.StringIO:
    stream = io.StringIO()
    configure("debug", stream)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_unknown_fields_are_dropped_and_counted(log_output: io.StringIO) -> None:
    get_logger("t").info("offer made", offer_id="off_1", patient="Ola Testpasient", note="x")
    (record,) = lines(log_output)
    assert record["event"] == "offer made"
    assert record["offer_id"] == "off_1"
    assert record["dropped_fields"] == 2
    assert "Testpasient" not in log_output.getvalue()


def test_exception_messages_that_may_quote_input_are_not_logged(log_output: io.StringIO) -> None:
    class Report(BaseModel):
        severity: int

    try:
        Report.model_validate({"severity": "Ola Testpasient"})
    except ValidationError:
        get_logger("t").exception("failed")
    (record,) = lines(log_output)
    assert record["exception"] == "ValidationError"
    assert "exception_message" not in record
    assert "Testpasient" not in log_output.getvalue()


def test_a_library_record_keeps_its_format_string_never_its_arguments(
    log_output: io.StringIO,
) -> None:
    secret = marker()
    logging.getLogger("mode.services").error("[^Worker]: Crashed reason=%r", ValueError(secret))
    logging.getLogger("aiohttp.server").warning("bad header %s: %d", secret, 3)
    first, second = lines(log_output)
    assert first["event"] == "[^Worker]: Crashed reason=%r"
    assert first["logger"] == "mode.services"
    assert second["event"] == "bad header %s: %d"
    assert secret not in log_output.getvalue()


def _library_line(name: str, message: str, at: float, *args: object) -> None:
    logger = logging.getLogger(name)
    record = logger.makeRecord(name, logging.ERROR, __file__, 1, message, args, None)
    record.created = at
    logger.handle(record)


def test_a_library_line_repeated_while_the_broker_is_away_is_written_once_a_minute(
    log_output: io.StringIO,
) -> None:
    connect_line = "Unable connect to node with id %s: %s"
    for tenth in range(600):  # aiokafka retries every 100 ms: 60 s of it
        at = 1000.0 + tenth / 10
        _library_line("aiokafka", connect_line, at, 1, "refused")
        _library_line("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s", at, 1, "x")
    _library_line("aiokafka", connect_line, 1000 + REPEAT_WINDOW_S, 1, "refused")
    connect, fetch, connect_again = lines(log_output)
    assert connect["event"] == connect_line
    assert "repeats_held_back" not in connect
    assert fetch["logger"] == "aiokafka.consumer.fetcher"
    assert connect_again["event"] == connect["event"]
    assert connect_again["repeats_held_back"] == 599


def test_our_own_lines_are_never_held_back(log_output: io.StringIO) -> None:
    for attempt in range(1, 6):
        get_logger("outbox").warning("broker did not take the batch; retrying", attempt=attempt)
    assert [line["attempt"] for line in lines(log_output)] == [1, 2, 3, 4, 5]


def test_a_library_record_that_is_not_text_or_too_long_is_cut(log_output: io.StringIO) -> None:
    secret = marker()
    logging.getLogger("faust").error(ValueError(secret))
    logging.getLogger("faust").error("x" * 1000)
    logging.getLogger("asyncio").error(f"Task exception was never retrieved\nfuture: <{secret}>")
    logging.getLogger("asyncio").error(f"Exception in callback Handle._run({secret!r})")
    not_text, long, task, callback = lines(log_output)
    assert not_text["event"] == MESSAGE_WITHHELD
    assert long["event"] == "x" * MAX_MESSAGE_CHARS
    assert task["event"] == "Task exception was never retrieved"
    assert callback["event"] == "Exception in callback Handle._run"
    assert secret not in log_output.getvalue()


def test_a_library_exception_shows_its_type_and_frames_never_its_text(
    log_output: io.StringIO,
) -> None:
    secret = marker()
    try:
        raise RuntimeError(f"agent failed on {secret}")
    except RuntimeError:
        logging.getLogger("faust.agents").exception("Agent error: %r", secret, stack_info=True)
    (record,) = lines(log_output)
    assert record["exception"] == "RuntimeError"
    assert "exception_message" not in record
    stack = record["stack"]
    assert isinstance(stack, list) and any("test_logging.py" in frame for frame in stack)
    assert "dropped_fields" not in record  # stack_info is not a field to count
    assert secret not in log_output.getvalue()


def test_an_os_error_keeps_its_reason_never_its_file_name(log_output: io.StringIO) -> None:
    secret = marker()
    try:
        open(f"/nonexistent/{secret}.yaml")  # noqa: SIM115
    except OSError:
        logging.getLogger("aiokafka.conn").error("open failed", exc_info=True)
    try:
        raise ConnectionError(f"broker {secret} refused")
    except ConnectionError:
        get_logger("t").exception("connect failed")
    opened, connected = lines(log_output)
    assert opened["exception"] == "FileNotFoundError"
    assert opened["exception_message"] == "No such file or directory"
    assert connected["exception"] == "ConnectionError"
    assert "exception_message" not in connected
    assert secret not in log_output.getvalue()


def test_a_boundary_error_keeps_its_message(log_output: io.StringIO) -> None:
    reason = next(iter(Reason))
    try:
        raise BoundaryError(reason, "event.code")
    except BoundaryError as exc:
        message = str(exc)
        get_logger("t").exception("refused")
    (record,) = lines(log_output)
    assert record["exception_message"] == message


def test_a_captured_warning_shows_its_category_and_place_never_its_text(
    log_output: io.StringIO,
) -> None:
    secret = marker()
    warnings.showwarning(f"value {secret!r} serialized", UserWarning, "/app/x.py", 7)
    (record,) = lines(log_output)
    assert record["event"] == "warning"
    assert record["kind"] == "UserWarning"
    assert record["path"] == "/app/x.py:7"
    assert secret not in log_output.getvalue()


def test_an_uncaught_exception_is_one_json_line_without_its_text(
    log_output: io.StringIO,
) -> None:
    secret = marker()
    try:
        raise KeyError(secret)
    except KeyError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    (record,) = lines(log_output)
    assert record["event"] == "uncaught exception"
    assert record["exception"] == "KeyError"
    assert secret not in log_output.getvalue()
