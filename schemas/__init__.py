"""Event contracts and the privacy boundary.

Imports neither ``streams`` nor ``connectors``: both build on this package.
"""

from schemas.codes import (
    Actuality,
    Channel,
    Language,
    Profession,
    Seriousness,
    Severity,
    SourceFormat,
    StaffRole,
)
from schemas.dead_letter import DeadLetter, Reason
from schemas.notification import (
    HandoffDetails,
    Notification,
    NotificationKind,
    ResourceInfo,
    SchemeInfo,
)
from schemas.offer import SupportOffer
from schemas.receipt import DeliveryReason, DeliveryReceipt, Outcome
from schemas.report import NativeIncidentReport
from schemas.response import Answer, SupportResponse
from schemas.signal import IncidentSignal, InvolvedStaff
from schemas.staff import ContactPoint, StaffProfile
from schemas.supporter import SupporterProfile

__all__ = [
    "Actuality",
    "Answer",
    "Channel",
    "ContactPoint",
    "DeadLetter",
    "DeliveryReason",
    "DeliveryReceipt",
    "HandoffDetails",
    "IncidentSignal",
    "InvolvedStaff",
    "Language",
    "NativeIncidentReport",
    "Notification",
    "NotificationKind",
    "Outcome",
    "Profession",
    "Reason",
    "ResourceInfo",
    "SchemeInfo",
    "Seriousness",
    "Severity",
    "SourceFormat",
    "StaffProfile",
    "StaffRole",
    "SupportOffer",
    "SupportResponse",
    "SupporterProfile",
]
