"""Notifications as the worker writes them, for feeding sinks in tests."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from schemas import Channel, Language, Notification, Profession
from schemas.notification import HandoffDetails, NotificationKind, ResourceInfo, SchemeInfo
from tools.worker import pseudonym

ADDRESSES = {
    Channel.EMAIL: "kari@sykehus.example",
    Channel.TEAMS: "kari@sykehus.example",
    Channel.SLACK: "U012AB3CD",
    Channel.SMS: "+4791234567",
    Channel.WEBHOOK: "emp-1001",
    Channel.OUTBOX: "emp-1001",
}


def notification(
    channel: Channel,
    kind: NotificationKind = NotificationKind.OFFER,
    language: Language = Language.NB,
    address: str | None = None,
) -> Notification:
    handoff = (
        HandoffDetails(
            person=pseudonym("emp-2002"),
            display_name="Per Hansen",
            contact_channel=Channel.SMS,
            contact_address="+4798765432",
            profession=Profession.NURSE,
            language=Language.NN,
        )
        if kind is NotificationKind.HANDOFF
        else None
    )
    return Notification(
        notification_id=f"ntf_{secrets.token_hex(16)}",
        offer_id=f"off_{secrets.token_hex(16)}",
        kind=kind,
        channel=channel,
        address=address or ADDRESSES[channel],
        recipient_ref=pseudonym("emp-1001"),
        display_name="Kari Nordmann",
        language=language,
        profession=Profession.NURSE,
        scheme=SchemeInfo(
            scheme_id="arbeidsgiver",
            name="Kollegastøtte i helseforetaket",
            contact="kollegastotte@helseforetak.example",
            resources=(ResourceInfo(name="Mental Helse Hjelpetelefonen", contact="116 123"),),
        ),
        handoff=handoff,
        policy_version="test-1",
        created_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    )
