"""Hypothesis strategies from an OpenAPI 3.1 document: request bodies that follow each
operation's schema, mixed with arbitrary JSON, so a fuzz run reaches both deep handling
and early refusals."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def from_schema(schema: dict[str, Any], document: dict[str, Any]) -> st.SearchStrategy[Any]:
    schema = _resolve(schema, document)
    if "const" in schema:
        return st.just(schema["const"]) | JSON_SCALARS
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | st.text(max_size=12)
    kind = schema.get("type")
    if kind == "object":
        properties = {
            name: from_schema(sub, document) for name, sub in schema.get("properties", {}).items()
        }
        required = {
            name: properties.pop(name) for name in schema.get("required", []) if name in properties
        }
        return st.fixed_dictionaries(required, optional=properties)
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), document), max_size=4)
    if kind == "string":
        return st.text(max_size=30)
    if kind == "integer":
        return st.integers()
    return JSON_VALUES


def operations(
    document: dict[str, Any],
) -> list[tuple[str, str, str, dict[str, Any], list[dict[str, Any]]]]:
    """(method, path, content type, body schema, parameters) of every operation with a body."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            for content_type, media in body["content"].items():
                found.append(
                    (
                        method.upper(),
                        path,
                        content_type,
                        media["schema"],
                        operation.get("parameters", []),
                    )
                )
    return found


def query(
    parameters: list[dict[str, Any]], document: dict[str, Any]
) -> st.SearchStrategy[dict[str, str]]:
    optional = {
        p["name"]: from_schema(p["schema"], document).map(str)
        for p in parameters
        if p["in"] == "query"
    }
    return st.fixed_dictionaries({}, optional=optional)
