"""Belt and braces: values that identify a person, whatever field they were put in.

The boundary copies only codes it knows, so these checks should never find anything. They
run anyway, on every value the boundary copies and on every code a policy declares, because
a careless integrator or a local code list can still carry a national identity number, an
e-mail address or a phone number.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers

from schemas.dead_letter import Reason

PHONE_REGION: Final = "NO"

# a run of digits, optionally led by + and joined by single separators a code may hold
_NUMBER_RUN: Final = re.compile(r"\+?\d(?:[ .\-_:/]?\d)*")
_SEPARATORS: Final = re.compile(r"[ .\-_:/+]")
_EMAIL: Final = re.compile(r"[^\s@]+@[^\s@]+")
_NIN_WEIGHTS_1: Final = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_NIN_WEIGHTS_2: Final = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_NORWEGIAN_MOBILE: Final = re.compile(r"[49]\d{7}")
_MIN_PHONE_DIGITS: Final = 8
_MAX_PHONE_DIGITS: Final = 15


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def is_national_identity_number(digits: str) -> bool:
    """Eleven digits with both mod-11 check digits right: a fødselsnummer, or a D- or
    H-number (whose day or month is shifted, which the check digits do not see)."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    first = _check_digit(digits[:9], _NIN_WEIGHTS_1)
    if first is None or first != int(digits[9]):
        return False
    second = _check_digit(digits[:10], _NIN_WEIGHTS_2)
    return second is not None and second == int(digits[10])


def _international(run: str, digits: str) -> bool:
    return run.startswith("+") or digits.startswith("00")


def _is_phone_number(run: str, digits: str) -> bool:
    if not _MIN_PHONE_DIGITS <= len(digits) <= _MAX_PHONE_DIGITS:
        return False
    international = _international(run, digits)
    national = digits.removeprefix("00").removeprefix("47") if international else digits
    if _NORWEGIAN_MOBILE.fullmatch(national):  # a range not yet allocated is still refused
        return True
    text = "+" + digits.removeprefix("00") if international else digits
    try:
        number = phonenumbers.parse(text, None if international else PHONE_REGION)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def identifying_reason(value: str) -> Reason | None:
    """Why ``value`` must not be copied (it holds a national identity number, an e-mail
    address or a phone number), or None."""
    if "@" in value and _EMAIL.search(value):
        return Reason.EMAIL_ADDRESS
    for match in _NUMBER_RUN.finditer(value):
        run = match.group()
        if len(run) < _MIN_PHONE_DIGITS:
            continue
        digits = _SEPARATORS.sub("", run)
        if is_national_identity_number(digits) and not _international(run, digits):
            return Reason.NATIONAL_IDENTITY_NUMBER
        if _is_phone_number(run, digits):
            return Reason.PHONE_NUMBER
        if any(is_national_identity_number(digits[i : i + 11]) for i in range(len(digits) - 10)):
            return Reason.NATIONAL_IDENTITY_NUMBER  # one inside a longer number
    return None
