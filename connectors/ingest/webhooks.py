"""Standard Webhooks signatures (https://www.standardwebhooks.com): ``webhook-id``,
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, a space-separated list of
``v1,<base64 HMAC-SHA-256 of "id.timestamp.body">``.

A few lines of our own rather than the ``standardwebhooks`` package, which the unit tests
check this against: its window is a fixed five minutes read from the wall clock, it keeps no
record of the ids it accepted, and a malformed signature header escapes it as ValueError or
binascii.Error. Here every malformed header is a :class:`Problem`, the window is a setting,
and an id is accepted once while its timestamp is inside the window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from connectors.ingest.problems import Problem

ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
HEADERS: Final = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
MAX_SIGNATURES: Final = 16
MAX_REMEMBERED: Final = 100_000

_ID: Final = re.compile(r"[\x21-\x7e]{1,256}")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")
_ENTRY: Final = re.compile(r"(?P<version>[a-z0-9]{1,8}),(?P<signature>[A-Za-z0-9+/]{1,512}={0,2})")


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value a sender computes (tests and the README use it)."""
    return "v1," + base64.b64encode(_mac(key, msg_id, timestamp, body)).decode()


def _mac(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


@dataclass(frozen=True)
class WebhookHeaders:
    """The three headers, parsed; ``signatures`` holds the decoded ``v1`` ones."""

    msg_id: str
    timestamp: int
    signatures: tuple[bytes, ...]

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> WebhookHeaders | None:
        """None when none of the headers is sent; a 401 :class:`Problem` naming the first
        missing or malformed one otherwise."""
        values = {name: headers.get(name) for name in HEADERS}
        if all(value is None for value in values.values()):
            return None
        msg_id, timestamp, signature = (values[name] or "" for name in HEADERS)
        if _ID.fullmatch(msg_id) is None:
            raise _malformed(ID_HEADER)
        if _TIMESTAMP.fullmatch(timestamp) is None:
            raise _malformed(TIMESTAMP_HEADER)
        entries = signature.split()
        if not entries or len(entries) > MAX_SIGNATURES:
            raise _malformed(SIGNATURE_HEADER)
        signatures = []
        for entry in entries:
            match = _ENTRY.fullmatch(entry)
            if match is None:
                raise _malformed(SIGNATURE_HEADER)
            if match["version"] != "v1":
                continue  # another scheme (v1a is asymmetric): not ours to check
            try:
                signatures.append(base64.b64decode(match["signature"], validate=True))
            except (binascii.Error, ValueError):
                raise _malformed(SIGNATURE_HEADER) from None
        return cls(msg_id, int(timestamp), tuple(signatures))


class ReplayCache:
    """Digests of accepted webhook ids, each kept until its timestamp leaves the window (a
    replay after that is refused as stale). An id is claimed while its request is handled
    and released when the answer is not a success, so the sender's retry is not refused."""

    def __init__(self, capacity: int = MAX_REMEMBERED, clock: Callable[[], float] = time.time):
        self._capacity = capacity
        self._clock = clock
        self._expiry: dict[bytes, float] = {}
        self._queue: list[tuple[float, bytes]] = []

    def seen(self, msg_id: str) -> bool:
        self._forget_expired()
        return _digest(msg_id) in self._expiry

    def claim(self, msg_id: str, expires: float) -> bool:
        """True when the id was not known and is now; False for a replay."""
        self._forget_expired()
        key = _digest(msg_id)
        if key in self._expiry:
            return False
        if len(self._expiry) >= self._capacity:
            raise Problem(503, "busy", headers={"Retry-After": "60"})
        self._expiry[key] = expires
        heapq.heappush(self._queue, (expires, key))
        return True

    def release(self, msg_id: str) -> None:
        self._expiry.pop(_digest(msg_id), None)

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self) -> None:
        now = self._clock()
        while self._queue and self._queue[0][0] <= now:
            expires, key = heapq.heappop(self._queue)
            if self._expiry.get(key) == expires:
                del self._expiry[key]


class WebhookVerifier:
    def __init__(
        self,
        key: bytes,
        tolerance_s: int,
        clock: Callable[[], float] = time.time,
        replays: ReplayCache | None = None,
    ) -> None:
        self._key = key
        self._tolerance = tolerance_s
        self._clock = clock
        self.replays = replays or ReplayCache(clock=clock)

    def screen(self, headers: WebhookHeaders) -> None:
        """What the headers alone decide: the time window, and an id accepted before."""
        if abs(self._clock() - headers.timestamp) > self._tolerance:
            raise Problem.unauthorized("stale-signature", TIMESTAMP_HEADER)
        if self.replays.seen(headers.msg_id):
            raise Problem(409, "replayed", ID_HEADER)

    def verify(self, headers: WebhookHeaders, body: bytes) -> None:
        """Return when a signature matches the body; a 401 :class:`Problem` otherwise."""
        self.screen(headers)  # again: the body may have taken a while
        expected = _mac(self._key, headers.msg_id, headers.timestamp, body)
        # every entry is compared, so the time taken does not tell which one matched
        matched = [hmac.compare_digest(expected, given) for given in headers.signatures]
        if not any(matched):
            raise Problem.unauthorized("bad-signature", SIGNATURE_HEADER)

    def claim(self, headers: WebhookHeaders) -> None:
        """Use up a verified message's id until its timestamp leaves the window."""
        if not self.replays.claim(headers.msg_id, headers.timestamp + self._tolerance + 1):
            raise Problem(409, "replayed", ID_HEADER)


def _digest(msg_id: str) -> bytes:
    return hashlib.sha256(msg_id.encode()).digest()


def _malformed(header: str) -> Problem:
    return Problem.unauthorized("malformed-credentials", header)
