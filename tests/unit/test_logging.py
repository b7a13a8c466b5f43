"""The JSON log refuses fields it does not know and exception messages that may quote input."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pydantic import BaseModel, ValidationError

from runtime.logging import configure, get_logger


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


def test_standard_library_records_are_json_too(log_output: io.StringIO) -> None:
    try:
        raise ConnectionError("broker 127.0.0.1:9092 refused")
    except ConnectionError:
        logging.getLogger("aiokafka.conn").error("connect failed", exc_info=True)
    (record,) = lines(log_output)
    assert record["logger"] == "aiokafka.conn"
    assert record["exception_message"] == "broker 127.0.0.1:9092 refused"
