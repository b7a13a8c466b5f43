"""Pseudonyms are HMAC-SHA256 of the parts, exactly as the standard library computes it."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from schemas.boundary import PseudonymKey, pseudonymize


@given(
    key=st.binary(min_size=32, max_size=200),  # shorter and longer than SHA-256's block
    parts=st.lists(st.text(st.characters(exclude_categories=["Cs"])), min_size=1, max_size=4),
)
def test_digest_is_hmac_sha256(key: bytes, parts: list[str]) -> None:
    message = b"\x1f".join(part.encode() for part in parts)
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    assert PseudonymKey(key).hexdigest(*parts) == expected


def test_pseudonym_is_prefixed_truncated_hmac() -> None:
    key = b"k" * 40
    expected = hmac.new(key, b"incident\x1fsys\x1fAV-1", hashlib.sha256).hexdigest()[:32]
    assert pseudonymize(PseudonymKey(key), "sys", "AV-1") == "inc_" + expected
    assert "k" * 10 not in repr(PseudonymKey(key))
