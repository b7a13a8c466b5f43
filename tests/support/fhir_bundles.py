"""Subscription notification Bundles in the three shapes the ingest server reads, built
the way the FHIR Subscriptions specifications show them."""

from __future__ import annotations

from typing import Any

SUBSCRIPTION = "http://fhir.example.org/fhir/Subscription/psb"
TOPIC = "http://fhir.example.org/SubscriptionTopic/adverse-event"


def _entries(resources: list[dict[str, Any]], ids: list[str], base: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{base}/AdverseEvent/{r.get('id', n)}", "resource": r}
        for n, r in enumerate(resources)
    ]
    entries += [
        {
            "fullUrl": f"{base}/AdverseEvent/{i}",
            "request": {"method": "PUT", "url": f"AdverseEvent/{i}"},
        }
        for i in ids
    ]
    return entries


def _focus(resources: list[dict[str, Any]], ids: list[str], base: str) -> list[str]:
    return [f"{base}/AdverseEvent/{r.get('id', n)}" for n, r in enumerate(resources)] + [
        f"{base}/AdverseEvent/{i}" for i in ids
    ]


def r5_notification(
    resources: list[dict[str, Any]] = [],  # noqa: B006  # read only
    ids: list[str] = [],  # noqa: B006
    kind: str = "event-notification",
    base: str = "http://fhir.example.org/fhir",
) -> dict[str, Any]:
    status = {
        "resourceType": "SubscriptionStatus",
        "status": "active",
        "type": kind,
        "subscription": {"reference": SUBSCRIPTION},
        "topic": TOPIC,
        "notificationEvent": [
            {"eventNumber": n + 1, "focus": {"reference": ref}}
            for n, ref in enumerate(_focus(resources, ids, base))
        ],
    }
    return {
        "resourceType": "Bundle",
        "type": "subscription-notification",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": status}, *_entries(resources, ids, base)],
    }


def r4b_notification(
    resources: list[dict[str, Any]] = [],  # noqa: B006
    ids: list[str] = [],  # noqa: B006
    kind: str = "event-notification",
    base: str = "http://fhir.example.org/fhir",
) -> dict[str, Any]:
    bundle = r5_notification(resources, ids, kind, base)
    bundle["type"] = "history"
    return bundle


def r4_backport_notification(
    resources: list[dict[str, Any]] = [],  # noqa: B006
    ids: list[str] = [],  # noqa: B006
    kind: str = "event-notification",
    base: str = "http://fhir.example.org/fhir",
) -> dict[str, Any]:
    parameters = {
        "resourceType": "Parameters",
        "meta": {
            "profile": [
                "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4"
            ]
        },
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": SUBSCRIPTION}},
            {"name": "topic", "valueCanonical": TOPIC},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": kind},
            *(
                {
                    "name": "notification-event",
                    "part": [
                        {"name": "event-number", "valueString": str(n + 1)},
                        {"name": "focus", "valueReference": {"reference": ref}},
                    ],
                }
                for n, ref in enumerate(_focus(resources, ids, base))
            ),
        ],
    }
    return {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": parameters},
            *_entries(resources, ids, base),
        ],
    }
