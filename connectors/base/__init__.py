from connectors.base.exceptions import (
    ConnectorError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from connectors.base.sink import Sink

__all__ = ["ConnectorError", "PermanentDeliveryError", "Sink", "TransientDeliveryError"]
