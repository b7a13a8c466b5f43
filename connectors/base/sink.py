"""What a channel sink is: something that delivers one notification or says why not."""

from __future__ import annotations

from abc import ABC, abstractmethod

from schemas import Channel, Notification


class Sink(ABC):
    """Delivers notifications of one channel.

    ``deliver`` returns when the channel accepted the message, and raises
    :class:`~connectors.base.TransientDeliveryError` or
    :class:`~connectors.base.PermanentDeliveryError` otherwise.
    """

    channels: frozenset[Channel]

    async def setup(self) -> None:  # noqa: B027 - optional hook
        """Open connections, check templates; fail here, not at the first send."""

    @abstractmethod
    async def deliver(self, notification: Notification) -> None: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
