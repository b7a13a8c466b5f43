"""``SupportResponse``: a staff member's one-click answer to an offer."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime

from schemas.base import Contract
from schemas.codes import OpaqueId, StaffPseudonym


class Answer(StrEnum):
    ACCEPT = "accept"
    NOT_NOW = "not-now"
    REMIND_LATER = "remind-later"


class SupportResponse(Contract):
    """An answer on ``support-responses``, keyed by ``person`` (like the offers, so the
    worker holding the person's scheduled reminder sees it)."""

    type: Literal["support-response"] = "support-response"
    version: Literal[1] = 1
    offer_id: OpaqueId
    person: StaffPseudonym
    answer: Answer
    answered_at: AwareDatetime
