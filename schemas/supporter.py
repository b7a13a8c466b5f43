"""``SupporterProfile``: a trained peer supporter (compacted topic ``supporters``).

A supporter is also staff: profession, unit and line manager come from their directory
entry, so this record holds only what makes them a supporter.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from schemas.base import Contract
from schemas.codes import Code, Identifier


class SupporterProfile(Contract):
    type: Literal["supporter-profile"] = "supporter-profile"
    version: Literal[1] = 1
    staff_ref: Identifier
    scheme_id: Code
    trained_until: date
    active: bool = True
    capacity: Annotated[int, Field(ge=1, le=50)] = 3

    def available_on(self, day: date) -> bool:
        return self.active and self.trained_until >= day
