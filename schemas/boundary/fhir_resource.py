"""Resource-level rules shared by the R4 and R5 readers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from schemas.boundary.errors import BoundaryError
from schemas.boundary.readers import Element
from schemas.codes import SourceFormat
from schemas.dead_letter import Reason

MAX_LOCAL_ID = 512


def incident_local_id(
    identifiers: Iterable[Element], resource_id: str | None, fmt: SourceFormat
) -> str:
    """What identifies the incident at its source: the first business identifier (with its
    system), else the resource id. Only its keyed pseudonym ever leaves the boundary."""
    for identifier in identifiers:
        if identifier["value"]:
            local_id = f"{identifier['system'] or ''}|{identifier['value']}"
            if len(local_id) > MAX_LOCAL_ID:
                raise BoundaryError(Reason.TOO_LONG, "identifier.value", fmt)
            return local_id
    if resource_id:
        if len(resource_id) > MAX_LOCAL_ID:
            raise BoundaryError(Reason.TOO_LONG, "id", fmt)
        return f"AdverseEvent/{resource_id}"
    raise BoundaryError(Reason.MISSING, "identifier", fmt)


def reported_at(
    instant: datetime | None, received_at: datetime | None, fmt: SourceFormat
) -> datetime:
    """The first candidate that is a full date-time with a zone (the caller's ``or`` chain,
    which parses no further than it must), else when we received it."""
    if instant is not None:
        return instant
    if received_at is None:
        raise BoundaryError(Reason.MISSING, "recordedDate", fmt)
    return received_at
