"""The webhook's signature as a receiver checks it: the Standard Webhooks library verifies a
``whsec_`` secret's signature, a raw secret signs with its UTF-8 bytes as before, and a
secret no receiver could use stops the sink at start with one line naming the setting."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

import pytest
import typer
from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from connectors.answers.tokens import AnswersSettings, AnswerTokens
from connectors.messages import Templates
from connectors.webhook import WebhookSettings, WebhookSink
from peer_support.exits import EXIT_INPUT
from peer_support.sink_cli import build_sink
from schemas import Channel
from tests.support.notifications import notification

KEY = bytes(range(32))
WHSEC = "whsec_" + base64.b64encode(KEY).decode()
RAW = "raw-webhook-signing-key-0123456789abcdef"
URL = "https://receiver.example/hook"


def signed(secret: str) -> tuple[bytes, dict[str, str]]:
    settings = WebhookSettings(url=SecretStr(URL), secret=SecretStr(secret))
    templates = Templates(tokens=AnswerTokens(AnswersSettings(secret="k" * 40)))
    return WebhookSink(settings, templates).request(notification(Channel.WEBHOOK))


@pytest.mark.parametrize("secret", [WHSEC, WHSEC.rstrip("="), WHSEC + "\n"])
def test_the_standard_webhooks_library_verifies_a_whsec_signature(secret: str) -> None:
    body, headers = signed(secret)
    Webhook(WHSEC).verify(body, headers)  # raises unless the signature is right
    with pytest.raises(WebhookVerificationError):
        Webhook(WHSEC).verify(body + b" ", headers)
    other = "whsec_" + base64.b64encode(bytes(32)).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_a_raw_secret_still_signs_with_its_utf8_bytes() -> None:
    body, headers = signed(RAW)
    message = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    digest = hmac.new(RAW.encode(), message, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("whsec_" + "*" * 40, "PSB_WEBHOOK_SECRET starts with 'whsec_' but the rest is not base64"),
        ("whsec_" + base64.b64encode(bytes(23)).decode(), "must encode at least 24 bytes"),
        ("too-short-raw-key", "PSB_WEBHOOK_SECRET must be at least 32 characters"),
    ],
)
def test_an_unusable_secret_stops_the_sink_at_start_in_one_line(
    secret: str, says: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [name for name in os.environ if name.startswith("PSB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PSB_WEBHOOK_URL", URL)
    monkeypatch.setenv("PSB_WEBHOOK_SECRET", secret)
    with pytest.raises(typer.Exit) as stopped:
        build_sink(Channel.WEBHOOK, Templates(tokens=None))
    assert stopped.value.exit_code == EXIT_INPUT
    (line,) = capsys.readouterr().err.splitlines()
    assert says in line
    assert secret.removeprefix("whsec_") not in line
