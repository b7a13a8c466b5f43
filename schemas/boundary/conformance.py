"""Full FHIR conformance checking with ``fhir.resources``, for where speed does not matter.

The boundary reads only its allow-listed paths, which is what keeps it fast on a stream.
An integrator connecting a new reporting system, or an edge that wants to refuse
non-conformant resources outright, can also validate the whole resource against the
official R4B (same AdverseEvent as R4) or R5 model. Failures are reported like every other
boundary error: a field path and a reason, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import cache
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from schemas.boundary.errors import BoundaryError, field_names, from_validation_error
from schemas.codes import SourceFormat

STRICT_EXTRA: Final = "pip install 'peer-support-bridge[strict]'"


class StrictExtraMissing(RuntimeError):
    """The official FHIR models come with the ``strict`` extra, which production leaves out."""


def _release(fmt: SourceFormat) -> Callable[[str], type[BaseModel]]:
    """``get_fhir_model_class`` of the release: R4B (whose AdverseEvent is R4's) or R5."""
    try:
        if fmt is SourceFormat.FHIR_R4:
            from fhir.resources.R4B import get_fhir_model_class as r4b_model

            return r4b_model
        from fhir.resources import get_fhir_model_class as r5_model
    except ImportError:
        raise StrictExtraMissing(
            f"full FHIR validation (--strict) needs the strict extra: {STRICT_EXTRA}"
        ) from None
    return r5_model


def _resolver(model_class: Callable[[str], type[BaseModel]]) -> Callable[[Any], Any]:
    """fhir.resources annotates nested elements with placeholder classes from a module
    named ``abc`` (``AdverseEventParticipantType``); map them to the real models."""

    def resolve(annotation: Any) -> Any:
        if getattr(annotation, "__module__", None) == "abc":
            with suppress(Exception):
                return model_class(annotation.__name__.removesuffix("Type"))
        return annotation

    return resolve


@cache
def _model_and_names(fmt: SourceFormat) -> tuple[type[BaseModel], frozenset[str]]:
    model_class = _release(fmt)
    model = model_class("AdverseEvent")
    return model, field_names(model, resolve=_resolver(model_class))


def check_conformance(document: Mapping[str, Any], fmt: SourceFormat) -> None:
    """Raise :class:`BoundaryError` when the resource does not conform to its FHIR release,
    :class:`StrictExtraMissing` when the models are not installed."""
    if fmt is SourceFormat.NATIVE:
        return
    model, names = _model_and_names(fmt)
    error: BoundaryError | None = None
    try:
        model.model_validate(dict(document))
    except ValidationError as exc:
        error = from_validation_error(exc, names, fmt)
    if error is not None:
        raise error
