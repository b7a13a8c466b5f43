"""One Faust codec for every contract: pydantic models in, JSON bytes out, and back.

Each contract is registered under its own serializer name (``contract:<Model>``), so a
topic declares what it carries and agents receive validated models, never dicts. A record
that does not decode raises :class:`ContractDecodeError`, whose message holds a field path
and a reason code only (see :class:`streams.dead_letters.DeadLetteringTopic`).
"""

from __future__ import annotations

from typing import Any, Final

from faust.serializers import codecs
from pydantic import BaseModel, ValidationError

from schemas import (
    DeadLetter,
    IncidentSignal,
    Notification,
    Reason,
    StaffProfile,
    SupporterProfile,
    SupportOffer,
    SupportResponse,
)
from schemas.boundary.errors import field_names, safe_path

CONTRACTS: Final[tuple[type[BaseModel], ...]] = (
    IncidentSignal,
    SupportOffer,
    Notification,
    StaffProfile,
    SupporterProfile,
    SupportResponse,
    DeadLetter,
)


class ContractDecodeError(ValueError):
    def __init__(self, reason: Reason, path: str) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason.value}")


class ContractCodec(codecs.Codec):
    def __init__(self, model: type[BaseModel], **kwargs: Any) -> None:
        super().__init__(model=model, **kwargs)
        self.model = model
        self._fields = field_names(model)

    def _dumps(self, obj: Any) -> bytes:
        if not isinstance(obj, self.model):
            raise TypeError(f"expected {self.model.__name__}, got {type(obj).__name__}")
        return obj.model_dump_json().encode()

    def _loads(self, data: bytes) -> BaseModel:
        error: ContractDecodeError | None = None
        try:
            return self.model.model_validate_json(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False, include_context=False)
            error = ContractDecodeError(
                Reason.INVALID_JSON if first[0]["type"] == "json_invalid" else Reason.INVALID,
                safe_path(first[0]["loc"], self._fields),
            )
        raise error


def serializer_for(model: type[BaseModel]) -> str:
    return f"contract:{model.__name__}"


def register_contracts() -> None:
    for model in CONTRACTS:
        codecs.register(serializer_for(model), ContractCodec(model))
