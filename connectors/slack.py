"""Slack through an incoming webhook, with Block Kit: a header, the text, and answer buttons.

An incoming webhook posts to the one conversation it was made for, so give each sink a
webhook that reaches people privately (a Slack app's webhook into its direct messages, or a
Workflow Builder webhook that forwards to ``recipient``). Slack allows about one message a
second per webhook: the sink's rate limit defaults to that.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from connectors.base import http
from connectors.messages import RenderedMessage, Templates
from runtime.settings import PsbSettings
from schemas import Channel, Notification

HEADER_MAX: Final = 150
SECTION_MAX: Final = 3000


class SlackSettings(PsbSettings):
    """The Slack incoming webhook the Slack sink posts to."""

    model_config = SettingsConfigDict(env_prefix="PSB_SLACK_", frozen=True, extra="ignore")

    webhook_url: SecretStr = Field(description="Slack incoming webhook URL (secret).")
    timeout_s: float = Field(15.0, gt=0, le=300, description="HTTP timeout, seconds.")


def mrkdwn(text: str) -> str:
    """Slack's three escapes; nothing else in our text is markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks(notification: Notification, rendered: RenderedMessage) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": rendered.subject[:HEADER_MAX], "emoji": False},
        }
    ]
    found += [
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(part)[:SECTION_MAX]}}
        for part in rendered.paragraphs()
    ]
    buttons = rendered.buttons(notification.language)
    if buttons:
        elements = []
        for code, label, url in buttons:
            button: dict[str, Any] = {
                "type": "button",
                "text": {"type": "plain_text", "text": label},
                "url": url,
                "action_id": code,
            }
            if code == "accept":
                button["style"] = "primary"
            elements.append(button)
        found.append({"type": "actions", "elements": elements})
    return found


def payload(notification: Notification, rendered: RenderedMessage) -> dict[str, Any]:
    return {
        "text": rendered.subject,
        "recipient": notification.address,
        "blocks": blocks(notification, rendered),
    }


class SlackSink(http.JsonPostSink):
    channels = frozenset({Channel.SLACK})

    def __init__(self, settings: SlackSettings, templates: Templates) -> None:
        super().__init__(templates, settings.webhook_url, settings.timeout_s)
        self.settings = settings

    def document(self, notification: Notification, rendered: RenderedMessage) -> object:
        return payload(notification, rendered)
