"""Readers that validate exactly as an ``Incoming`` model does, but produce plain dicts.

Building model instances is most of pydantic's cost on the boundary's hot path (a FHIR
AdverseEvent holds a dozen nested elements, each a model). The models stay the one
declaration of what is read: their fields are the allow-list, their JSON schema documents
it. A reader validates with the model's own core schema in which every model is replaced by
a typed dict with the same fields, defaults and ``extra="ignore"``, so a missing optional
element is there with its default, as on the model. ``tests/unit/test_boundary_readers.py``
proves reader and model accept, fill and refuse alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from pydantic import BaseModel
from pydantic_core import CoreSchema, SchemaValidator

Element = dict[str, Any]
"""What a reader returns for a model: its fields by name, nested models as dicts too."""


def dict_reader(model: type[BaseModel]) -> Callable[[Any], Element]:
    """``model.model_validate`` returning ``model_dump()``'s shape without building models."""
    schema = cast(CoreSchema, _as_dicts(model.__pydantic_core_schema__))
    return SchemaValidator(schema).validate_python


def _as_dicts(node: Any) -> Any:
    if isinstance(node, list):
        return [_as_dicts(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "model":
        return _typed_dict(node)
    return {key: _as_dicts(value) for key, value in node.items()}


def _typed_dict(model: dict[str, Any]) -> dict[str, Any]:
    fields = model["schema"]
    cls: type[BaseModel] = model["cls"]
    if (
        fields.get("type") != "model-fields"
        or fields.get("computed_fields")
        or cls.__pydantic_decorators__.model_validators
        or model.get("post_init")
    ):  # these need the model instance; a reader would silently skip or break them
        raise TypeError(f"cannot read {cls.__name__} as a dict")
    extra = model.get("config", {}).get("extra_fields_behavior", "ignore")
    converted: dict[str, Any] = {
        "type": "typed-dict",
        "fields": {
            name: {
                "type": "typed-dict-field",
                "schema": _as_dicts(field["schema"]),
                "required": field["schema"]["type"] != "default",
            }
            for name, field in fields["fields"].items()
        },
        "extra_behavior": extra,
    }
    if "ref" in model:
        converted["ref"] = model["ref"]
    return converted
