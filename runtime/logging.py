"""JSON logs through structlog, with two processors that keep report content out.

* :func:`allow_listed_fields` drops every key not in :data:`ALLOWED_FIELDS`, so a value can
  only reach the log under a name someone decided is safe.
* :func:`safe_exception` renders an exception as its type and stack frames; the message is
  kept only for types whose messages are known to be free of input (our own errors, OS and
  network errors). A pydantic or JSON error message, which quotes its input, never appears.

Third-party libraries (Faust, aiokafka, librdkafka callbacks) log through the standard
``logging`` module; their records pass through the same processors.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import IO, Any, Final

import structlog
from structlog.typing import EventDict, WrappedLogger

from schemas.boundary import BoundaryError

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
        # opaque ids (derived, never input)
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
    }
)

SAFE_MESSAGE_TYPES: tuple[type[BaseException], ...] = (
    BoundaryError,
    OSError,
    TimeoutError,
    ConnectionError,
)

NOISY_LOGGERS: Final = (
    "faust",
    "mode",
    "aiokafka",
    "kafka",
    "aiohttp.access",
    "venusian",
    "httpx",  # logs each request with its URL, which may hold a secret
    "httpcore",
)


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


def _frames(exc: BaseException) -> list[str]:
    return [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]


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
    if isinstance(exc, SAFE_MESSAGE_TYPES):
        event_dict["exception_message"] = str(exc)
    event_dict["stack"] = _frames(exc)
    return event_dict


def configure(level: str = "info", stream: IO[str] | None = None) -> None:
    """Install JSON logging for this process (structlog and the standard library)."""
    numeric = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
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
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


def get_logger(component: str) -> Any:
    """A logger bound to ``component``. Lazy: module-level loggers created before
    :func:`configure` runs still use the configuration it installs."""
    return structlog.get_logger(component, component=component)
