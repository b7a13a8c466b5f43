"""CloudEvents 1.0 over HTTP, structured and binary mode: the envelope is taken off and
the event's data handled like a plain request to the same endpoint.

Only what is needed to find the data is read (``specversion``, ``id``, ``source``,
``type``, ``datacontenttype``, ``data``/``data_base64``); extension attributes are ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from connectors.ingest.problems import Problem
from schemas.boundary import BoundaryError, load_document

STRUCTURED: Final = "application/cloudevents+json"
BATCH: Final = "application/cloudevents-batch+json"
REQUIRED: Final = ("id", "source", "type")


@dataclass(frozen=True)
class Payload:
    """A request body and its media type, after any CloudEvents envelope is removed."""

    media_type: str
    params: Mapping[str, str]
    body: bytes
    cloudevent: bool = False


def unwrap(
    media_type: str, params: Mapping[str, str], headers: Mapping[str, str], body: bytes, limit: int
) -> Payload:
    if media_type == BATCH:
        raise Problem(415, "unsupported-media-type")
    if media_type == STRUCTURED:
        return _structured(body, limit)
    if "ce-specversion" in headers:
        if headers["ce-specversion"] != "1.0":
            raise Problem(400, "invalid-cloudevent", "ce-specversion")
        for name in REQUIRED:
            if not headers.get(f"ce-{name}"):
                raise Problem(400, "invalid-cloudevent", f"ce-{name}")
        return Payload(media_type, params, body, cloudevent=True)
    return Payload(media_type, params, body)


def _structured(body: bytes, limit: int) -> Payload:
    try:
        event = load_document(body, max_bytes=limit)
    except BoundaryError as error:
        raise Problem.from_boundary(error) from None
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
    return Payload(media_type.strip().lower(), params, data, cloudevent=True)


def media_params(rest: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"')
    return params
