"""The one place time is read, so tests can pass a clock of their own instead."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
