"""``SupportOffer``: the decision that one staff member should be offered peer support."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from schemas.base import Contract
from schemas.codes import Code, OpaqueId, Pseudonym, StaffPseudonym, StaffRole


class SupportOffer(Contract):
    """An offer on ``support-offers``, keyed by ``person`` (the staff pseudonym), so one
    worker holds everything about a person.

    ``offer_id`` is keyed on the incident and the person, so the same report replayed any
    number of times names the same offer. ``due_at`` is when the policy lets it go out
    (delay after the report, outside quiet hours).
    """

    type: Literal["support-offer"] = "support-offer"
    version: Literal[1] = 1
    offer_id: OpaqueId
    incident: Pseudonym
    person: StaffPseudonym
    role: StaffRole
    reported_at: AwareDatetime
    created_at: AwareDatetime
    due_at: AwareDatetime
    policy_version: Code
