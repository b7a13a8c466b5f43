"""Reading a policy file, with errors that name the line and the key and say what is allowed.

An error never quotes the file: a line that cannot be decoded or parsed may hold anything
someone pasted, and these errors reach the worker's log.
"""

from __future__ import annotations

import codecs
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ValidationError

from schemas.codes import CODE_PATTERN
from schemas.policy.model import Policy

NOT_UTF8: Final = "the file is not UTF-8 text; save the file as UTF-8"

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_NAMED_KEY = re.compile(r"^([a-z_]+(?:\.[a-z_]+)+) ")
_PATTERN_HINTS = {
    CODE_PATTERN: "use a code: letters, digits and . _ : / + - with no spaces, "
    "at most 64 characters",
}


@dataclass(frozen=True)
class Problem:
    line: int
    path: str
    message: str

    def render(self, source: str) -> str:
        return f"{source}:{self.line}: {self.path}: {self.message}"


class PolicyError(ValueError):
    """Every problem found in a policy file, each with its line and key."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(problem.render(source) for problem in problems))


def load_policy(path: Path) -> Policy:
    return parse_policy(read_policy_text(path), str(path))


def read_policy_text(path: Path) -> str:
    """The file's text: UTF-8 with or without a BOM, or UTF-16 with one."""
    return decode_policy(read_policy_bytes(path), str(path))


def read_policy_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        problem = Problem(0, "$", f"cannot read the file ({exc.strerror})")
        raise PolicyError(str(path), [problem]) from None


def decode_policy(data: bytes, source: str) -> str:
    """Refuses what is not UTF-8 or UTF-16 with a BOM, naming the line of the first byte
    that does not decode. A NUL is refused too: YAML forbids it, and it is how UTF-16
    without a BOM decodes as UTF-8."""
    encoding, body = next(
        ((name, data[len(bom) :]) for bom, name in _BOMS if data.startswith(bom)),
        ("utf-8", data),
    )
    try:
        text = body.decode(encoding)
        if "\0" not in text:
            return text
        before = text.split("\0", 1)[0]
    except UnicodeDecodeError as exc:
        before = body[: exc.start].decode(encoding).split("\0", 1)[0]
    raise PolicyError(source, [Problem(before.count("\n") + 1, "$", NOT_UTF8)])


def parse_policy(text: str, source: str = "policy.yaml") -> Policy:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise PolicyError(source, [_yaml_problem(exc, text)]) from None
    if root is None or not isinstance(data, dict):
        raise PolicyError(source, [Problem(1, "$", "the policy must be a YAML mapping")])
    problems = _duplicate_keys(root, "")
    if problems:
        raise PolicyError(source, problems)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        errors = _root_causes(exc.errors())
        problems = sorted((_problem(root, error) for error in errors), key=lambda p: p.line)
        raise PolicyError(source, problems) from None


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'" r'|"(?:[^"\\]|\\.)*"')
_YAML_TOKENS: Final = frozenset(
    token.id
    for token in vars(yaml.tokens).values()
    if isinstance(token, type) and issubclass(token, yaml.tokens.Token) and hasattr(token, "id")
)


def _yaml_problem(exc: Exception, text: str) -> Problem:
    """PyYAML quotes what it read ("found undefined alias 'x'"): each quoted part becomes
    '...' unless it is one of PyYAML's own token names ("expected ',' or ']'")."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        return Problem(line, "$", "not valid YAML: a character YAML does not allow")
    if isinstance(exc, RecursionError):
        return Problem(0, "$", "not valid YAML: nested too deeply")
    if isinstance(exc, ValueError):  # a date or a number PyYAML could not build
        return Problem(0, "$", "not valid YAML: a value is out of range")
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(0, "$", "not valid YAML")
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 0
    problem = _QUOTED.sub(
        lambda quoted: quoted[0] if quoted[0][1:-1] in _YAML_TOKENS else "'...'",
        exc.problem or "",
    )
    if re.search("['\"]", _QUOTED.sub("", problem)):  # a quote left open: say less
        problem = ""
    return Problem(line, "$", f"not valid YAML: {problem}" if problem else "not valid YAML")


def _root_causes(errors: list[Any]) -> list[Any]:
    """Drop an error whose location contains a deeper error: an empty list of schemes
    because the only scheme was invalid is a consequence, not a second problem."""
    locs = [tuple(error["loc"]) for error in errors]
    return [
        error
        for error, loc in zip(errors, locs, strict=True)
        if not any(other != loc and other[: len(loc)] == loc for other in locs)
    ]


def _duplicate_keys(node: yaml.Node, path: str) -> list[Problem]:
    found: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            where = f"{path}.{key}" if path else key
            if key in seen:
                found.append(Problem(key_node.start_mark.line + 1, where, "key appears twice"))
            seen.add(key)
            found.extend(_duplicate_keys(value_node, where))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found.extend(_duplicate_keys(item, f"{path}.{index}"))
    return found


def _line_of(root: yaml.Node, loc: tuple[int | str, ...]) -> int:
    node = root
    line = root.start_mark.line + 1
    for segment in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(segment, str):
            match = next((pair for pair in node.value if pair[0].value == segment), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(segment, int):
            if segment >= len(node.value):
                break
            node = node.value[segment]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    current: Any = Policy
    for segment in loc:
        current = _unwrap_model(current)
        if current is None:
            return None
        if isinstance(segment, str):
            field = current.model_fields.get(segment)
            if field is None:
                return None
            current = field.annotation
        else:
            args = typing.get_args(current)
            current = args[0] if args else None
    return _unwrap_model(current)


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated, tuple, list):
        for arg in typing.get_args(annotation):
            model = _unwrap_model(arg)
            if model is not None:
                return model
    return None


def _problem(root: yaml.Node, error: Any) -> Problem:
    loc: tuple[int | str, ...] = tuple(
        part for part in error["loc"] if isinstance(part, int) or "[" not in part
    )
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(model.model_fields) if model else "see the documentation"
        message = f"unknown key; allowed here: {allowed}"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "too_short" and loc == ("schemes",):
        message = "list at least one scheme"
    elif kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        message = _PATTERN_HINTS.get(pattern, message)
    if not loc and kind == "value_error":  # a check across keys: it names its key first
        named = _NAMED_KEY.match(message)
        first = named[1].split(".")[0] if named else ""
        if named and first in Policy.model_fields:
            loc = tuple(named[1].split("."))
            message = message.removeprefix(named[0])  # the path is shown once, before it
        else:
            loc = ("schemes",)
    path = ".".join(str(part) for part in loc) or "$"
    return Problem(_line_of(root, loc), path, message)
