"""Keyed pseudonyms for incidents and staff, and keyed ids for what is derived from them.

Every value here is an HMAC-SHA256 under the installation's key: without the key, nobody
can recompute one from a guessed report number or staff reference, nor test a guess
against an id seen in a link, a log line or a webhook payload.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from schemas.codes import OpaqueId, Pseudonym, StaffPseudonym

MIN_KEY_BYTES: Final = 32
_SEP: Final = "\x1f"


class PseudonymKey:
    """The HMAC-SHA256 key. It never shows itself in ``repr``, logs or tracebacks."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def __repr__(self) -> str:
        return "PseudonymKey(**********)"

    def hexdigest(self, *parts: str) -> str:
        # one-shot HMAC in OpenSSL: faster than copying a keyed object per message
        return hmac.digest(self._key, _SEP.join(parts).encode(), hashlib.sha256).hex()


def pseudonymize(key: PseudonymKey, source_system: str, local_id: str) -> Pseudonym:
    """Same report, same key: same pseudonym."""
    return "inc_" + key.hexdigest("incident", source_system, local_id)[:32]


def pseudonymize_staff(key: PseudonymKey, staff_ref: str) -> StaffPseudonym:
    """Same person, same key: same pseudonym, in every report and in the directory view."""
    return "stf_" + key.hexdigest("staff", staff_ref)[:32]


def derive_id(key: PseudonymKey, prefix: str, *parts: str) -> OpaqueId:
    """A stable id for something determined by ``parts`` (which are already pseudonymous)."""
    return f"{prefix}_" + key.hexdigest("id", prefix, *parts)[:32]
