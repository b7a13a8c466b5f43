"""CloudEvents 1.0 over HTTP, structured, binary and batched mode: the envelope is taken
off and the event's data handled like a plain request to the same endpoint.

Only what is needed to find the data is read (``specversion``, ``id``, ``source``,
``type``, ``datacontenttype``, ``data``/``data_base64``); extension attributes are ignored.
A batch is a JSON array of structured events, each judged on its own (:func:`batch` and
:func:`event_payload`), so one bad event does not cost the others their place.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Final

import jiter

from connectors.ingest.problems import Problem
from schemas.boundary import BoundaryError, load_document

STRUCTURED: Final = "application/cloudevents+json"
BATCH: Final = "application/cloudevents-batch+json"
REQUIRED: Final = ("id", "source", "type")
_NOT_JSON: Final = object()


@dataclass(frozen=True)
class Payload:
    """A request body and its media type, after any CloudEvents envelope is removed."""

    media_type: str
    params: Mapping[str, str]
    body: bytes
    cloudevent: bool = False
    media_type_from: str = "Content-Type"
    """Where the media type was named: a refusal points there."""


def unwrap(
    media_type: str, params: Mapping[str, str], headers: Mapping[str, str], body: bytes, limit: int
) -> Payload:
    if media_type == BATCH:  # only where the route takes batches, which it checks first
        raise Problem(415, "unsupported-media-type", "Content-Type")
    if media_type == STRUCTURED:
        try:
            event = load_document(body, max_bytes=limit)
        except BoundaryError as error:
            raise Problem.from_boundary(error) from None
        return event_payload(event)
    if "ce-specversion" in headers:
        if headers["ce-specversion"] != "1.0":
            raise Problem(400, "invalid-cloudevent", "ce-specversion")
        for name in REQUIRED:
            if not headers.get(f"ce-{name}"):
                raise Problem(400, "invalid-cloudevent", f"ce-{name}")
        return Payload(media_type, params, body, cloudevent=True)
    return Payload(media_type, params, body)


def batch(body: bytes, limit: int, max_events: int) -> list[Any]:
    """The events of a batch, each still to be judged by :func:`event_payload`; a
    :class:`Problem` when the body as a whole is no batch."""
    if len(body) > limit:
        raise Problem(413, "too-large")
    parsed: Any = _NOT_JSON
    with suppress(ValueError):  # jiter's message may quote the body: not kept as context
        parsed = jiter.from_json(body, catch_duplicate_keys=True, allow_inf_nan=False)
    if parsed is _NOT_JSON:
        _why_not_json(body, limit)
    if not isinstance(parsed, list) or not parsed:
        raise Problem(400, "invalid-batch")
    if len(parsed) > max_events:
        raise Problem(413, "batch-too-large")
    return parsed


def _why_not_json(body: bytes, limit: int) -> None:
    """The boundary's own reason (invalid JSON, a duplicate key, too deep...): it parses
    with the same options, so it fails on the same bytes and says why without quoting."""
    try:
        load_document(body, max_bytes=limit)
    except BoundaryError as error:
        raise Problem.from_boundary(error) from None
    raise Problem(400, "invalid-batch")


def event_payload(event: object) -> Payload:
    """The data of one structured event, with its media type."""
    if not isinstance(event, dict):
        raise Problem(400, "invalid-cloudevent")
    if event.get("specversion") != "1.0":
        raise Problem(400, "invalid-cloudevent", "specversion")
    for name in REQUIRED:
        if not isinstance(event.get(name), str) or not event[name]:
            raise Problem(400, "invalid-cloudevent", name)
    content_type = event.get("datacontenttype", "application/json")
    if not isinstance(content_type, str):
        raise Problem(400, "invalid-cloudevent", "datacontenttype")
    media_type, _, rest = content_type.partition(";")
    params = media_params(rest)
    if "data_base64" in event:
        encoded = event["data_base64"]
        if not isinstance(encoded, str):
            raise Problem(400, "invalid-cloudevent", "data_base64")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise Problem(400, "invalid-cloudevent", "data_base64") from None
    elif isinstance(event.get("data"), dict):
        data = json.dumps(event["data"]).encode()
    elif isinstance(event.get("data"), str):
        data = event["data"].encode()
    else:
        raise Problem(400, "invalid-cloudevent", "data")
    return Payload(
        media_type.strip().lower(), params, data, cloudevent=True, media_type_from="datacontenttype"
    )


def media_params(rest: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"')
    return params
