"""Errors of the connectors, translated at the boundary from SMTP, HTTP and Kafka errors.

::

    ConnectorError
    ├── TransientDeliveryError   try again later (timeouts, 5xx, 429 with retry_after)
    └── PermanentDeliveryError   do not try again (4xx, SMTP 5xx): dead-letter it

Messages carry a reason code and a status, never a message body or an address.
"""

from __future__ import annotations

__all__ = ["ConnectorError", "PermanentDeliveryError", "TransientDeliveryError"]


class ConnectorError(Exception):
    """Root of every error a connector raises on purpose."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        super().__init__(reason if status is None else f"{reason} (status {status})")


class TransientDeliveryError(ConnectorError):
    """The channel could not take the message now; ``retry_after`` seconds if it said so."""

    def __init__(
        self, reason: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, status)
        self.retry_after = retry_after


class PermanentDeliveryError(ConnectorError):
    """The channel refused the message and will refuse it again."""
