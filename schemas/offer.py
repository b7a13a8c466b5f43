"""``SupportOffer``: the decision that one staff member should be offered peer support."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime

from schemas.base import Contract
from schemas.codes import Code, Identifier, OpaqueId, Pseudonym, StaffRole


class OfferKind(StrEnum):
    OFFER = "offer"
    REMINDER = "reminder"


class SupportOffer(Contract):
    """An offer on ``support-offers``, keyed by ``staff_ref`` so the directory is local.

    ``offer_id`` is derived from the incident pseudonym and the staff reference, so the same
    report replayed any number of times names the same offer.
    """

    type: Literal["support-offer"] = "support-offer"
    version: Literal[1] = 1
    offer_id: OpaqueId
    kind: OfferKind = OfferKind.OFFER
    incident: Pseudonym
    staff_ref: Identifier
    role: StaffRole
    reported_at: AwareDatetime
    created_at: AwareDatetime
    policy_version: Code = "builtin"
