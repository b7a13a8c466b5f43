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
from schemas.notification import Notification, NotificationKind
from schemas.offer import OfferKind, SupportOffer
from schemas.report import NativeIncidentReport
from schemas.signal import IncidentSignal, InvolvedStaff
from schemas.staff import ContactPoint, StaffProfile

__all__ = [
    "Actuality",
    "Channel",
    "ContactPoint",
    "DeadLetter",
    "IncidentSignal",
    "InvolvedStaff",
    "Language",
    "NativeIncidentReport",
    "Notification",
    "NotificationKind",
    "OfferKind",
    "Profession",
    "Reason",
    "Seriousness",
    "Severity",
    "SourceFormat",
    "StaffProfile",
    "StaffRole",
    "SupportOffer",
]
