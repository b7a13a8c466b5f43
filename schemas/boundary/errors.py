"""The one exception the boundary raises, and the translation of pydantic's errors into it.

A pydantic ``ValidationError`` carries the offending input in ``str(exc)``; it must never
travel further than this module. :func:`from_validation_error` keeps only the location
(restricted to field names we declared) and the error type, mapped to a :class:`Reason`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.codes import SourceFormat
from schemas.dead_letter import REASON_TEXT, Reason

_ROOT: Final = "$"
ModelT = TypeVar("ModelT", bound=BaseModel)

_TYPE_TO_REASON: Final[dict[str, Reason]] = {
    "missing": Reason.MISSING,
    "literal_error": Reason.NOT_ALLOWED_VALUE,
    "enum": Reason.NOT_ALLOWED_VALUE,
    "string_pattern_mismatch": Reason.INVALID_IDENTIFIER,
    "string_too_short": Reason.MISSING,
    "string_too_long": Reason.TOO_LONG,
    "too_long": Reason.TOO_MANY,
    "timezone_aware": Reason.INVALID_DATETIME,
    "datetime_parsing": Reason.INVALID_DATETIME,
    "datetime_from_date_parsing": Reason.INVALID_DATETIME,
    "datetime_type": Reason.INVALID_DATETIME,
}


class BoundaryError(ValueError):
    """A report the boundary cannot accept: where (field path) and why (reason code).

    The message is built from those two alone, so it is safe to log, to print and to put
    in a dead-letter record.
    """

    message_is_safe_to_log: ClassVar[bool] = True  # runtime.logging.SAFE_MESSAGE

    def __init__(
        self, reason: Reason, path: str = _ROOT, detected_format: SourceFormat | None = None
    ) -> None:
        self.reason = reason
        self.path = path
        self.detected_format = detected_format
        super().__init__(f"{path}: {REASON_TEXT[reason]} ({reason.value})")


def field_names(
    *models: type[BaseModel], resolve: Callable[[Any], Any] = lambda annotation: annotation
) -> frozenset[str]:
    """Every field name and alias declared by ``models`` and the models nested in them:
    the only dict keys an error path may show. ``resolve`` maps a library's placeholder
    annotation to the model it stands for."""
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    pending: list[Any] = list(models)
    while pending:
        candidate = resolve(pending.pop())
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if candidate in seen:
                continue
            seen.add(candidate)
            for name, info in candidate.model_fields.items():
                names.add(name)
                if info.alias:
                    names.add(info.alias)
                pending.append(info.annotation)
        else:
            pending.extend(getattr(candidate, "__args__", ()))
    return frozenset(names)


def _reason_for(error_type: str) -> Reason:
    if error_type in _TYPE_TO_REASON:
        return _TYPE_TO_REASON[error_type]
    if error_type.endswith(("_type", "_parsing")):
        return Reason.WRONG_TYPE
    return Reason.INVALID


def safe_path(loc: Iterable[int | str], known_fields: frozenset[str]) -> str:
    """Render a pydantic location, keeping list indexes and declared field names only.

    Dict keys taken from the input would otherwise echo input; they become ``<key>``.
    Pydantic's internal tags (``function-after[...]``) are dropped.
    """
    parts: list[str] = []
    for segment in loc:
        if isinstance(segment, int):
            parts.append(str(segment))
        elif segment in known_fields:
            parts.append(segment)
        elif "[" not in segment:
            parts.append("<key>")
    return ".".join(parts) or _ROOT


def from_validation_error(
    exc: ValidationError, known_fields: frozenset[str], detected_format: SourceFormat
) -> BoundaryError:
    first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    return BoundaryError(
        _reason_for(first["type"]), safe_path(first["loc"], known_fields), detected_format
    )


def validate_as(
    model: type[ModelT],
    document: Mapping[str, Any],
    known_fields: frozenset[str],
    detected_format: SourceFormat,
) -> ModelT:
    """``model.model_validate`` whose failure is a :class:`BoundaryError`."""
    validated: ModelT = validate_with(
        model.__pydantic_validator__.validate_python, document, known_fields, detected_format
    )
    return validated


def validate_with(
    validate: Callable[[Any], Any],
    document: Mapping[str, Any],
    known_fields: frozenset[str],
    detected_format: SourceFormat,
) -> Any:
    """``validate(document)`` (a pydantic-core validator) whose failure is a
    :class:`BoundaryError`.

    The error is raised outside the ``except`` block so the pydantic error (which holds the
    input) is not even kept as ``__context__``.
    """
    error: BoundaryError | None = None
    try:
        return validate(document)
    except ValidationError as exc:
        error = from_validation_error(exc, known_fields, detected_format)
    raise error
