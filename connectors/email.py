"""Email over SMTP (aiosmtplib): STARTTLS or implicit TLS, optional login, text and HTML.

The ``Message-ID`` is derived from the notification id, so a mail server or client that sees
the same notification twice can tell. SMTP 5xx refuses the message for good (dead letter);
4xx, timeouts and lost connections are tried again. A failed login is tried again too: it is
a configuration error the operator fixes, and dead-lettering every offer meanwhile would
lose them.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Literal

import aiosmtplib
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from connectors.base.exceptions import PermanentDeliveryError, TransientDeliveryError
from connectors.messages import TemplatedSink, Templates
from runtime.clock import utc_now
from runtime.settings import PsbSettings
from schemas import Channel, DeliveryReason, Notification
from schemas.staff import ascii_email


class SmtpSettings(PsbSettings):
    """The SMTP server the email sink sends through."""

    model_config = SettingsConfigDict(env_prefix="PSB_SMTP_", frozen=True, extra="ignore")

    host: str = Field("localhost", description="SMTP server host name.")
    port: int = Field(587, ge=1, le=65535, description="SMTP server port (587 STARTTLS, 465 TLS).")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls (upgrade after connecting), tls (implicit TLS) or none "
        "(only for a relay on the same host).",
    )
    username: SecretStr | None = Field(
        None, description="SMTP login name (secret, kept beside the password); no login when unset."
    )
    password: SecretStr | None = Field(None, description="SMTP password (secret).")
    from_address: str = Field(
        "kollegastotte@localhost", description="Sender address of offer emails."
    )
    from_name: str = Field("Kollegastøtte", description="Sender display name of offer emails.")
    timeout_s: float = Field(30.0, gt=0, le=600, description="SMTP timeout, seconds.")
    validate_certs: bool = Field(True, description="Verify the SMTP server's TLS certificate.")
    ca_file: Path | None = Field(
        None,
        description="CA bundle (PEM) that signed the SMTP server's certificate, for a private "
        "CA (e.g. a file in PSB_SECRETS_DIR); the system's CAs when unset.",
    )


def message_id(notification_id: str, from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "peer-support-bridge.invalid"
    return f"<{notification_id}@{domain}>"


def smtp_error(exc: aiosmtplib.SMTPException) -> Exception:
    """The delivery error for an SMTP failure: 5xx refuses, anything else is transient."""
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return TransientDeliveryError(DeliveryReason.TIMEOUT)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return TransientDeliveryError(DeliveryReason.SMTP_AUTH, exc.code)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [recipient.code for recipient in exc.recipients]
        refused = [code for code in codes if code >= 500]
        if refused:
            return PermanentDeliveryError(DeliveryReason.SMTP_REFUSED, refused[0])
        return TransientDeliveryError(DeliveryReason.SMTP_TRANSIENT, codes[0] if codes else None)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code >= 500:
            return PermanentDeliveryError(DeliveryReason.SMTP_REFUSED, exc.code)
        return TransientDeliveryError(DeliveryReason.SMTP_TRANSIENT, exc.code)
    return TransientDeliveryError(DeliveryReason.CONNECTION)


class EmailSink(TemplatedSink):
    channels = frozenset({Channel.EMAIL})

    def __init__(self, settings: SmtpSettings, templates: Templates) -> None:
        super().__init__(templates)
        self.settings = settings

    def build(self, notification: Notification) -> EmailMessage:
        rendered = self.templates.render(notification)
        message = EmailMessage()
        sender = self.settings.from_address
        message["From"] = Address(display_name=self.settings.from_name, addr_spec=sender)
        # an internationalised domain in its xn-- form, which a server without SMTPUTF8 takes
        message["To"] = ascii_email(notification.address) or notification.address
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(utc_now())
        message["Message-ID"] = message_id(notification.notification_id, sender)
        message["Content-Language"] = notification.language.value
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message

    async def deliver(self, notification: Notification) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                self.build(notification),
                hostname=s.host,
                port=s.port,
                username=s.username.get_secret_value() if s.username is not None else None,
                password=s.password.get_secret_value() if s.password is not None else None,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                timeout=s.timeout_s,
                validate_certs=s.validate_certs,
                cert_bundle=str(s.ca_file) if s.ca_file is not None else None,
            )
        except aiosmtplib.SMTPException as exc:
            raise smtp_error(exc) from None
        except OSError:
            raise TransientDeliveryError(DeliveryReason.CONNECTION) from None
