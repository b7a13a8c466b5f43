"""The privacy boundary: any accepted report in, an ``IncidentSignal`` out, nothing else.

:func:`project` is pure. It reads fields from an allow-list, keeps a code only when the
:class:`Vocabulary` knows it (and it identifies nobody), turns the report's id and every
staff reference into keyed pseudonyms, and raises :class:`BoundaryError` (a field path and
a reason code, never a value) for what it cannot accept. What it drops is returned as field
and reason, for counting. The HTTP ingest edge, the Faust ``minimize`` agent and the command
line all call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from schemas.boundary.assemble import CopiedField, Drop, Projection
from schemas.boundary.detect import detect_format
from schemas.boundary.document import DEFAULT_MAX_BYTES, load_document
from schemas.boundary.errors import BoundaryError
from schemas.boundary.fhir_r4 import minimize_fhir_r4
from schemas.boundary.fhir_r5 import minimize_fhir_r5
from schemas.boundary.native import minimize_native
from schemas.boundary.pseudonym import (
    PseudonymKey,
    derive_id,
    pseudonymize,
    pseudonymize_staff,
)
from schemas.boundary.vocabulary import Vocabulary
from schemas.codes import SourceFormat
from schemas.signal import IncidentSignal

DEFAULT_FHIR_SOURCE: Final = "fhir"


class InputFormat(StrEnum):
    AUTO = "auto"
    NATIVE = "native"
    FHIR_R4 = "fhir-r4"
    FHIR_R5 = "fhir-r5"


def project(
    document: Mapping[str, Any] | bytes,
    key: PseudonymKey,
    vocabulary: Vocabulary,
    *,
    input_format: InputFormat = InputFormat.AUTO,
    fhir_source_system: str = DEFAULT_FHIR_SOURCE,
    received_at: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Projection:
    """Project one report onto an :class:`IncidentSignal`, and say what was dropped.

    ``fhir_source_system`` names the reporting system for FHIR input (native reports name
    their own); ``received_at`` stands in for the report time when a FHIR resource has none.
    """
    if isinstance(document, bytes):
        document = load_document(document, max_bytes=max_bytes)
    fmt = (
        detect_format(document)
        if input_format is InputFormat.AUTO
        else SourceFormat(input_format.value)
    )
    if fmt is SourceFormat.NATIVE:
        return minimize_native(document, key, vocabulary)
    if fmt is SourceFormat.FHIR_R4:
        return minimize_fhir_r4(
            document, key, vocabulary, source_system=fhir_source_system, received_at=received_at
        )
    return minimize_fhir_r5(
        document, key, vocabulary, source_system=fhir_source_system, received_at=received_at
    )


def minimize(
    document: Mapping[str, Any] | bytes,
    key: PseudonymKey,
    vocabulary: Vocabulary | None = None,
    **options: Any,
) -> IncidentSignal:
    """:func:`project`'s signal alone (the default vocabulary knows standard codes only)."""
    return project(document, key, vocabulary or Vocabulary(), **options).signal


__all__ = [
    "BoundaryError",
    "CopiedField",
    "Drop",
    "InputFormat",
    "Projection",
    "PseudonymKey",
    "Vocabulary",
    "derive_id",
    "detect_format",
    "load_document",
    "minimize",
    "project",
    "pseudonymize",
    "pseudonymize_staff",
]
