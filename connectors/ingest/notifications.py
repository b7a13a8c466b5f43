"""FHIR topic-based subscription notifications: which AdverseEvents a Bundle carries or
points at.

Three shapes are read: R5 (``Bundle.type`` ``subscription-notification`` starting with a
``SubscriptionStatus``), R4B (``history`` with a ``SubscriptionStatus``) and the R4 backport
(``history`` with a ``Parameters`` resource following the Subscriptions Backport IG).
Handshake, heartbeat and query-status notifications carry no event. Event notifications
carry AdverseEvents in full (``full-resource``) or name them only (``id-only``), in which
case the caller reads them back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

from pydantic import Field

from schemas.base import Incoming
from schemas.boundary import BoundaryError, InputFormat
from schemas.boundary.errors import field_names, validate_as
from schemas.codes import SourceFormat
from schemas.dead_letter import Reason

NO_EVENT_TYPES: Final = frozenset({"handshake", "heartbeat", "query-status"})
EVENT_TYPES: Final = frozenset({"event-notification", "query-event"})
MAX_ENTRIES: Final = 1000

_PATH_STEPS: Final = frozenset({".", ".."})
_ADVERSE_EVENT_REF: Final = re.compile(
    r"^(?:(?P<base>[a-z][a-z0-9+.-]*://\S*?)/)?AdverseEvent/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$"
)


class _Reference(Incoming):
    reference: str | None = None


class _Event(Incoming):
    focus: _Reference | None = None


class _Part(Incoming):
    name: str | None = None
    valueCode: str | None = None
    valueReference: _Reference | None = None
    part: Annotated[list[_Part], Field(max_length=64)] = []


class _Status(Incoming):
    resourceType: Literal["SubscriptionStatus", "Parameters"]
    type: str | None = None
    notificationEvent: Annotated[list[_Event], Field(max_length=MAX_ENTRIES)] = []
    parameter: Annotated[list[_Part], Field(max_length=MAX_ENTRIES)] = []


class _Entry(Incoming):
    fullUrl: str | None = None
    resource: dict[str, Any] | None = None


class _Bundle(Incoming):
    resourceType: Literal["Bundle"]
    type: Literal["subscription-notification", "history"]
    entry: Annotated[list[_Entry], Field(min_length=1, max_length=MAX_ENTRIES)]


_FIELDS: Final = field_names(_Bundle) | field_names(_Status)


@dataclass(frozen=True)
class AdverseEventRef:
    """An AdverseEvent named by a notification: the server base it lives on (None when
    relative) and its logical id."""

    base: str | None
    id: str


@dataclass(frozen=True)
class NotificationContent:
    kind: str
    fhir_format: InputFormat
    resources: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    references: list[AdverseEventRef] = field(default_factory=list)


def read_notification(document: Mapping[str, Any]) -> NotificationContent:
    """What a notification Bundle holds, or :class:`BoundaryError` with a field path."""
    bundle = validate_as(_Bundle, document, _FIELDS, SourceFormat.FHIR_R5)
    if bundle.entry[0].resource is None:
        raise BoundaryError(Reason.MISSING, "entry.0.resource")
    status = validate_as(_Status, bundle.entry[0].resource, _FIELDS, SourceFormat.FHIR_R5)
    fmt = InputFormat.FHIR_R5 if bundle.type == "subscription-notification" else InputFormat.FHIR_R4
    if status.resourceType == "Parameters":
        fmt = InputFormat.FHIR_R4
    kind = _kind(status)
    if kind in NO_EVENT_TYPES:
        return NotificationContent(kind, fmt)
    if kind not in EVENT_TYPES:
        raise BoundaryError(Reason.NOT_ALLOWED_VALUE, "entry.0.resource.type")

    resources: list[tuple[str, Mapping[str, Any]]] = []
    held: set[str] = set()
    for index, entry in enumerate(bundle.entry[1:], start=1):
        if entry.resource is not None and entry.resource.get("resourceType") == "AdverseEvent":
            resources.append((f"entry.{index}.resource.", entry.resource))
            resource_id = entry.resource.get("id")
            if isinstance(resource_id, str):
                held.add(resource_id)
    references: list[AdverseEventRef] = []
    for reference in _named(status, bundle):
        match = _ADVERSE_EVENT_REF.match(reference)
        if match is None or match["id"] in held:
            continue  # another resource type, or already carried in full
        if match["id"] in _PATH_STEPS:  # a URL would resolve them to another resource
            raise BoundaryError(Reason.INVALID_IDENTIFIER, "notificationEvent.focus.reference")
        if all(known.id != match["id"] for known in references):
            references.append(AdverseEventRef(match["base"], match["id"]))
    return NotificationContent(kind, fmt, resources, references)


def _kind(status: _Status) -> str | None:
    if status.resourceType == "SubscriptionStatus":
        return status.type
    for parameter in status.parameter:
        if parameter.name == "type":
            return parameter.valueCode
    return None


def _named(status: _Status, bundle: _Bundle) -> Iterator[str]:
    """Every reference the notification names as an event focus, then every entry that has
    a fullUrl but no resource (the id-only shape)."""
    for event in status.notificationEvent:
        if event.focus is not None and event.focus.reference:
            yield event.focus.reference
    for parameter in status.parameter:
        if parameter.name == "notification-event":
            for part in parameter.part:
                if part.name == "focus" and part.valueReference and part.valueReference.reference:
                    yield part.valueReference.reference
    for entry in bundle.entry[1:]:
        if entry.resource is None and entry.fullUrl:
            yield entry.fullUrl
