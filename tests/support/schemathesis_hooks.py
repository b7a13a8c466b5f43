"""A schemathesis check for the ingest API, loaded by ``schemathesis run`` through
``SCHEMATHESIS_HOOKS``.

schemathesis's own ``positive_data_acceptance`` takes any schema-valid request as one the
server must accept. That holds where the document's schema is the boundary's own model (the
native report), not where it is deliberately loose (a FHIR resource, whose schema is the
FHIR specification, or data given as base64): there it would report every request the
boundary refuses for a reason the document does not spell out. This check asks more where
the document is exact (202, nothing less) and nothing where it is not.
"""

from __future__ import annotations

from typing import Any

import schemathesis

NATIVE: frozenset[str | None] = frozenset({None, "application/json"})


@schemathesis.check
def native_reports_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not _native_only(case):
        return None
    if response.status_code != 202:
        raise AssertionError(
            f"a schema-valid native report was refused with {response.status_code}"
        )
    return None


def _native_only(case: Any) -> bool:
    """Whether every report the request carries is a native report, read as one."""
    if case.operation.path != "/v1/reports" or (case.query or {}).get("format") not in (
        None,
        "native",
    ):
        return False
    body = case.body
    if case.media_type == "application/json":
        return isinstance(body, dict)
    if case.media_type == "application/cloudevents+json":
        return _native_event(body)
    if case.media_type == "application/cloudevents-batch+json":
        return isinstance(body, list) and all(_native_event(event) for event in body)
    return False


def _native_event(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and "data_base64" not in event
        and isinstance(event.get("data"), dict)
        and event.get("datacontenttype") in NATIVE
    )
