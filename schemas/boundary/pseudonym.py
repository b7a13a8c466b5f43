"""Keyed pseudonyms for incidents and deterministic ids for what is derived from them."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from schemas.codes import OpaqueId, Pseudonym

MIN_KEY_BYTES: Final = 32
_SEP: Final = b"\x1f"
_SEP_TEXT: Final = _SEP.decode()


class PseudonymKey:
    """The HMAC-SHA256 key. It never shows itself in ``repr``, logs or tracebacks."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def __repr__(self) -> str:
        return "PseudonymKey(**********)"

    def hexdigest(self, *parts: str) -> str:
        mac = self._keyed.copy()  # the keyed state, without re-keying for every message
        mac.update(_SEP_TEXT.join(parts).encode())  # the separator is ASCII: same bytes
        return mac.hexdigest()


def pseudonymize(key: PseudonymKey, source_system: str, local_id: str) -> Pseudonym:
    """Same report, same key: same pseudonym. Without the key it cannot be reversed or
    recomputed from a guessed report number."""
    return "inc_" + key.hexdigest("incident", source_system, local_id)[:32]


def derive_id(prefix: str, *parts: str) -> OpaqueId:
    """A stable id for something determined by ``parts`` (which are already pseudonymous)."""
    digest = hashlib.sha256(_SEP.join(part.encode() for part in parts)).hexdigest()
    return f"{prefix}_{digest[:32]}"
