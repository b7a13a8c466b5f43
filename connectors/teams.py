"""Microsoft Teams through a Workflows (Power Automate) HTTP trigger, posting an Adaptive Card.

The body is the envelope the "When a Teams webhook request is received" trigger expects:
``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}``, plus ``recipient`` (the
person's user principal name) so the flow can post the card in a chat with that person rather
than in a channel. The answer links are the card's buttons.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from connectors.base import http
from connectors.messages import RenderedMessage, Templates
from runtime.settings import PsbSettings
from schemas import Channel, Notification

CARD_CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION: Final = "1.4"


class TeamsSettings(PsbSettings):
    """The Teams Workflows trigger the Teams sink posts to."""

    model_config = SettingsConfigDict(env_prefix="PSB_TEAMS_", frozen=True, extra="ignore")

    workflow_url: SecretStr = Field(
        description="HTTP trigger URL of the Teams workflow (secret: it carries its signature)."
    )
    timeout_s: float = Field(15.0, gt=0, le=300, description="HTTP timeout, seconds.")


def adaptive_card(notification: Notification, rendered: RenderedMessage) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": rendered.subject,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        *({"type": "TextBlock", "text": part, "wrap": True} for part in rendered.paragraphs()),
    ]
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "lang": notification.language.value,
        "body": body,
    }
    buttons = rendered.buttons(notification.language)
    if buttons:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": label, "url": url, "id": code}
            for code, label, url in buttons
        ]
    return card


def envelope(notification: Notification, rendered: RenderedMessage) -> dict[str, Any]:
    return {
        "type": "message",
        "recipient": notification.address,
        "attachments": [
            {
                "contentType": CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": adaptive_card(notification, rendered),
            }
        ],
    }


class TeamsSink(http.JsonPostSink):
    channels = frozenset({Channel.TEAMS})

    def __init__(self, settings: TeamsSettings, templates: Templates) -> None:
        super().__init__(templates, settings.workflow_url, settings.timeout_s)
        self.settings = settings

    def document(self, notification: Notification, rendered: RenderedMessage) -> object:
        return envelope(notification, rendered)
