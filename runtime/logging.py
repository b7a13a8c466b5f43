"""JSON logs through structlog, with processors that keep report content out.

* :func:`allow_listed_fields` drops every key not in :data:`ALLOWED_FIELDS`, so a value can
  only reach the log under a name someone decided is safe.
* :func:`safe_exception` renders an exception as its type and stack frames. Only an
  exception whose class sets :data:`SAFE_MESSAGE` true keeps its message (the boundary's
  error, built from a field path and a reason code); an ``OSError`` keeps its ``strerror``,
  never the file name. A pydantic, JSON or YAML error message, which quotes its input,
  never appears.
* :func:`foreign_message` keeps a library's format string and drops its arguments: mode logs
  ``"Crashed reason=%r"`` with an exception whose text once held a whole policy file.
* :class:`RepeatLimiter` lets a library's line through once a minute at most: while the
  broker is away aiokafka logs the same few lines every retry (about 240 a second, 130 MB
  of log an hour); the next line that comes through counts what was held back.

Third-party libraries (Faust, mode, aiokafka, aiohttp) log through the standard ``logging``
module, and so do captured warnings and uncaught exceptions; all pass the same processors.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
import warnings
from types import TracebackType
from typing import IO, Any, Final

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger

ALLOWED_FIELDS: Final = frozenset(
    {
        # structure
        "event",
        "level",
        "timestamp",
        "logger",
        "component",
        # positions and outcomes
        "topic",
        "partition",
        "offset",
        "reason",
        "path",
        "format",
        "channel",
        "kind",
        "status",
        "count",
        "counts",
        "attempt",
        "delay_s",
        "duration_ms",
        "repeats_held_back",
        # opaque ids and pseudonyms (derived, never input): a report's correlation ids
        "incident",
        "offer_id",
        "notification_id",
        "policy_version",
        "previous_version",
        "problems",
        # process
        "bootstrap_servers",
        "port",
        "url",
        "pid",
        "version",
        # exceptions, rendered by safe_exception
        "exception",
        "exception_message",
        "stack",
        "dropped_fields",
        # the trace a line belongs to (runtime.tracing)
        "trace_id",
        "span_id",
    }
)

SAFE_MESSAGE: Final = "message_is_safe_to_log"
"""The class attribute by which an exception type vouches that its message quotes no input;
a name rather than a base class, so this module imports no layer above it."""
MESSAGE_WITHHELD: Final = "message withheld"
MAX_MESSAGE_CHARS: Final = 200

NOISY_LOGGERS: Final = (
    "faust",
    "mode",
    "aiokafka",
    "kafka",
    "aiohttp.access",
    "venusian",
    "httpx",  # logs each request with its URL, which may hold a secret
    "httpcore",
    "opentelemetry",  # the SDK's own chatter; a failed export still warns
)
LIMITED_LOGGERS: Final = (*NOISY_LOGGERS, "asyncio")
"""Libraries whose repeated lines :class:`RepeatLimiter` holds back."""


REPEAT_WINDOW_S: Final = 60.0
"""How often the same library line (logger, level and format string) is let through."""
REPEATS_REMEMBERED: Final = 1000
"""Distinct library lines remembered; format strings are few, this only bounds memory."""
REPEATS_FIELD: Final = "repeats_held_back"


class RepeatLimiter(logging.Filter):
    """Holds back a library's line repeated within :data:`REPEAT_WINDOW_S` of the last one
    let through; the next one let through carries how many were held back. Our own lines
    pass untouched: each is written on purpose, and the retries that write them back off."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        super().__init__()
        self._window_s = window_s
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}
        """By line: when it was last let through, and how many were held back since."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str) or not record.name.startswith(LIMITED_LOGGERS):
            return True
        key = (record.name, record.levelno, _foreign_event(record))
        last = self._last.get(key)
        if last is not None and record.created - last[0] < self._window_s:
            self._last[key] = (last[0], last[1] + 1)
            return False
        if last is not None and last[1]:
            setattr(record, REPEATS_FIELD, last[1])
        if last is None and len(self._last) >= REPEATS_REMEMBERED:
            self._last.pop(next(iter(self._last)))
        self._last[key] = (record.created, 0)
        return True


_STRUCTLOG_INTERNALS: Final = frozenset({"_record", "_from_structlog"})


def allow_listed_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    dropped = [
        key for key in event_dict if key not in ALLOWED_FIELDS and key not in _STRUCTLOG_INTERNALS
    ]
    for key in dropped:
        del event_dict[key]
    if dropped:
        event_dict["dropped_fields"] = len(dropped)
    return event_dict


def trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The trace and span of the step a line is written in, to find its spans from it."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def _frames(exc: BaseException) -> list[str]:
    return [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]


def _safe_message(exc: BaseException) -> str | None:
    if getattr(type(exc), SAFE_MESSAGE, False) is True:
        return str(exc)
    if isinstance(exc, OSError) and isinstance(exc.strerror, str):
        return exc.strerror
    return None


def safe_exception(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    exc_info = event_dict.pop("exc_info", None)
    exc: BaseException | None = None
    if isinstance(exc_info, BaseException):
        exc = exc_info
    elif isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc = exc_info[1]
    elif exc_info:
        exc = sys.exc_info()[1]
    if exc is None:
        return event_dict
    event_dict["exception"] = type(exc).__qualname__
    message = _safe_message(exc)
    if message is not None:
        event_dict["exception_message"] = message
    event_dict["stack"] = _frames(exc)
    return event_dict


def _foreign_event(record: logging.LogRecord) -> str:
    if not isinstance(record.msg, str):
        return MESSAGE_WITHHELD
    # Only the first line: texts built before logging (asyncio's "Task exception was never
    # retrieved") put the reprs of their objects on the lines after it.
    line = record.msg.split("\n", 1)[0]
    if record.name.startswith("asyncio"):  # "Exception in callback <repr of its arguments>"
        line = re.split(r"[<(]", line, maxsplit=1)[0].rstrip()
    return line[:MAX_MESSAGE_CHARS]


def foreign_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """A standard-library record's ``event`` is its format string, never the message
    rendered with its arguments."""
    record = event_dict.get("_record")
    if isinstance(record, logging.LogRecord):
        event_dict["event"] = _foreign_event(record)
        held_back = getattr(record, REPEATS_FIELD, None)
        if isinstance(held_back, int):
            event_dict[REPEATS_FIELD] = held_back
    event_dict.pop("stack_info", None)
    return event_dict


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: IO[str] | None = None,
    line: str | None = None,
) -> None:
    """Replaces ``warnings.showwarning``, which prints the warning's text (a pydantic
    serializer warning quotes the value)."""
    get_logger("warnings").warning("warning", kind=category.__name__, path=f"{filename}:{lineno}")


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """Replaces Python's own traceback print, which shows the exception's message."""
    logging.getLogger("uncaught").critical("uncaught exception", exc_info=(kind, exc, tb))


def configure(level: str = "info", stream: IO[str] | None = None) -> None:
    """Install JSON logging for this process (structlog, the standard library, warnings and
    uncaught exceptions)."""
    numeric = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        trace_ids,
        safe_exception,
        allow_listed_fields,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[foreign_message, *shared],
        use_get_message=False,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RepeatLimiter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    warnings.showwarning = _log_warning
    logging.raiseExceptions = False  # else a failed record is printed with its arguments
    sys.excepthook = _log_uncaught


def get_logger(component: str) -> Any:
    """A logger bound to ``component``. Lazy: module-level loggers created before
    :func:`configure` runs still use the configuration it installs."""
    return structlog.get_logger(component, component=component)
