"""Bytes to a JSON object, with the limits every untrusted input gets.

jiter parses in Rust, refuses invalid UTF-8 and lone surrogates, bounds nesting depth, and
catches duplicate keys (which different parsers would otherwise read differently). Its
error messages can quote the input, so only their kind is kept.
"""

from __future__ import annotations

from typing import Any, Final

import jiter

from schemas.boundary.errors import BoundaryError
from schemas.dead_letter import Reason

DEFAULT_MAX_BYTES: Final = 1_048_576

_MESSAGE_TO_REASON: Final = (
    ("Detected duplicate key", Reason.DUPLICATE_KEY),
    ("recursion limit exceeded", Reason.TOO_DEEP),
    ("invalid unicode code point", Reason.NOT_UTF8),
    ("lone leading surrogate", Reason.NOT_UTF8),
)


def load_document(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Parse one JSON object, or raise :class:`BoundaryError` saying why not."""
    if not raw or raw.isspace():
        raise BoundaryError(Reason.EMPTY)
    if len(raw) > max_bytes:
        raise BoundaryError(Reason.TOO_LARGE)
    reason: Reason | None = None
    try:
        document = jiter.from_json(raw, catch_duplicate_keys=True, allow_inf_nan=False)
    except ValueError as exc:  # raised below, outside this block, to drop the context
        reason = _classify(str(exc))
    if reason is not None:
        raise BoundaryError(reason)
    if not isinstance(document, dict):
        raise BoundaryError(Reason.NOT_AN_OBJECT)
    return document


def _classify(message: str) -> Reason:
    for prefix, reason in _MESSAGE_TO_REASON:
        if message.startswith(prefix):
            return reason
    return Reason.INVALID_JSON
