"""Untrusted bytes to a JSON object: each refusal has its own reason and no echo."""

from __future__ import annotations

import pytest

from schemas import Reason
from schemas.boundary import BoundaryError, load_document, minimize
from tests.unit.helpers import KEY


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", Reason.EMPTY),
        (b"   \n", Reason.EMPTY),
        (b'{"name": "Ola Testpasient"', Reason.INVALID_JSON),
        (b'{"name": "Ola \xff Testpasient"}', Reason.NOT_UTF8),
        (b'{"name": "Ola \\ud800 Testpasient"}', Reason.INVALID_JSON),
        (b'{"name": "Ola", "name": "Testpasient"}', Reason.DUPLICATE_KEY),
        (b"[" * 300 + b"]" * 300, Reason.TOO_DEEP),
        (b'["Ola Testpasient"]', Reason.NOT_AN_OBJECT),
        (b'"Ola Testpasient"', Reason.NOT_AN_OBJECT),
        (b'{"value": NaN}', Reason.INVALID_JSON),
    ],
)
def test_refusals(raw: bytes, reason: Reason) -> None:
    with pytest.raises(BoundaryError) as caught:
        load_document(raw)
    assert caught.value.reason is reason
    assert "Testpasient" not in str(caught.value)
    assert "Ola" not in str(caught.value)
    assert caught.value.__context__ is None


def test_size_limit() -> None:
    with pytest.raises(BoundaryError) as caught:
        load_document(b'{"a": "' + b"x" * 2000 + b'"}', max_bytes=1024)
    assert caught.value.reason is Reason.TOO_LARGE


def test_unknown_format() -> None:
    for document in ({"resourceType": "Patient", "name": [{"text": "Ola"}]}, {"hello": 1}):
        with pytest.raises(BoundaryError) as caught:
            minimize(document, KEY)
        assert caught.value.reason is Reason.UNSUPPORTED_FORMAT
