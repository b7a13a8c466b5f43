"""``DeliveryReceipt``: the outcome of one attempt to deliver one notification.

Receipts go to ``notification-receipts``, keyed by ``notification_id``. They are the sinks'
memory: a sink reads them at start-up and does not send again what a receipt says was
delivered, so a crash between sending and committing does not double a message. They hold
routing metadata only (ids, channel, kind, outcome, reason code, status), never an address
or a message body.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.base import Contract
from schemas.codes import Channel, OpaqueId
from schemas.notification import NotificationKind


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED_PERMANENTLY = "failed-permanently"


class DeliveryReason(StrEnum):
    """Why an attempt did not deliver; the same codes appear in logs."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"
    REQUEST_TIMEOUT = "request-timeout"
    CLIENT_ERROR = "client-error"
    SMTP_TRANSIENT = "smtp-transient"
    SMTP_REFUSED = "smtp-refused"
    SMTP_AUTH = "smtp-auth"
    RENDERING = "rendering"
    RETRIES_EXHAUSTED = "retries-exhausted"
    UNEXPECTED = "unexpected-error"


class DeliveryReceipt(Contract):
    """One attempt's outcome, with the attempt number and, when retrying, the wait."""

    type: Literal["delivery-receipt"] = "delivery-receipt"
    version: Literal[1] = 1
    notification_id: OpaqueId
    offer_id: OpaqueId
    kind: NotificationKind
    channel: Channel
    outcome: Outcome
    attempt: Annotated[int, Field(ge=1)]
    reason: DeliveryReason | None = None
    status: Annotated[int, Field(ge=100, le=999)] | None = None
    """HTTP or SMTP status code of the answer, when there was one."""
    retry_in_s: Annotated[float, Field(ge=0)] | None = None
    recorded_at: AwareDatetime
