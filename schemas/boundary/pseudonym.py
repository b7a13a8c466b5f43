"""Keyed pseudonyms for incidents and deterministic ids for what is derived from them."""

from __future__ import annotations

import hashlib
from typing import Final

from schemas.codes import OpaqueId, Pseudonym

MIN_KEY_BYTES: Final = 32
_SEP: Final = b"\x1f"
_SEP_TEXT: Final = _SEP.decode()


class PseudonymKey:
    """The HMAC-SHA256 key. It never shows itself in ``repr``, logs or tracebacks.

    It holds the two keyed hash states of HMAC (RFC 2104, as :mod:`hmac` computes them)
    and copies them per message: the same digest as ``hmac.new(key, message, sha256)``
    (tests/unit/test_pseudonym.py checks), at half the cost of copying an ``hmac.HMAC``,
    whose methods are Python wrappers around these same calls.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
        block_size = hashlib.sha256().block_size
        if len(key) > block_size:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block_size, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def __repr__(self) -> str:
        return "PseudonymKey(**********)"

    def hexdigest(self, *parts: str) -> str:
        inner = self._inner.copy()  # the keyed state, without re-keying for every message
        inner.update(_SEP_TEXT.join(parts).encode())  # the separator is ASCII: same bytes
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def pseudonymize(key: PseudonymKey, source_system: str, local_id: str) -> Pseudonym:
    """Same report, same key: same pseudonym. Without the key it cannot be reversed or
    recomputed from a guessed report number."""
    return "inc_" + key.hexdigest("incident", source_system, local_id)[:32]


def derive_id(prefix: str, *parts: str) -> OpaqueId:
    """A stable id for something determined by ``parts`` (which are already pseudonymous)."""
    digest = hashlib.sha256(_SEP.join(part.encode() for part in parts)).hexdigest()
    return f"{prefix}_{digest[:32]}"
