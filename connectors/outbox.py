"""The local outbox: a sink that prints each notification instead of sending it.

For the demo and for trying a policy out. It prints who would be reached, how and in which
language; like every sink, it has nothing about the incident to print.
"""

from __future__ import annotations

import sys
from typing import IO

from connectors.base import Sink
from schemas import Channel, Notification


def describe(notification: Notification) -> str:
    name = notification.display_name or notification.recipient_ref
    return (
        f"{notification.kind.value:<8} → {name} ({notification.profession.value}) "
        f"by {notification.channel.value} to {notification.address} "
        f"[{notification.language.value}] id={notification.notification_id}"
    )


class OutboxSink(Sink):
    channels = frozenset(Channel)

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stdout
        self.delivered: list[Notification] = []

    async def deliver(self, notification: Notification) -> None:
        self.delivered.append(notification)
        print(describe(notification), file=self._stream, flush=True)
