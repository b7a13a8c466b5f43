"""Code and identifier checks that agree exactly with the contract's patterns.

``fullmatch``, not ``match``: in Python's ``re`` a ``$`` also matches before a trailing
newline, which the contract's (Rust) pattern refuses. Checked with ``match``, a code ending
in a newline passed here and then failed the signal's validation with a pydantic error
instead of being dropped like any other invalid optional code.
"""

from __future__ import annotations

import re
from typing import Final

from schemas.codes import CODE_PATTERN, IDENTIFIER_PATTERN

_CODE: Final = re.compile(CODE_PATTERN).fullmatch
_IDENTIFIER: Final = re.compile(IDENTIFIER_PATTERN).fullmatch


def is_code(value: object) -> bool:
    """The value would pass as a ``Code`` in the contract."""
    return isinstance(value, str) and _CODE(value) is not None


def is_identifier(value: object) -> bool:
    """The value would pass as an ``Identifier`` in the contract."""
    return isinstance(value, str) and _IDENTIFIER(value) is not None
