"""Message texts: one template set per kind and language, rendered for one notification.

Templates are Jinja2 files named ``<kind>.<language>.<part>.j2`` (kind offer, reminder or
handoff; language nb, nn or en; part ``subject``, ``txt`` or ``html``). The built-in set lives
in ``connectors/templates``; a quality department can override any file by putting one of the
same name in ``PSB_TEMPLATES_DIR``, without a code change.

What a template can see is only what :func:`context` puts there: the recipient's name, the
scheme (name, contact, resources), the signed answer links, and for a hand-off the accepting
person's name, contact route, profession and language. A notification carries nothing about the
incident, so no template can show it. Templates run in Jinja's sandbox with undefined names
refused, and :meth:`Templates.check` renders every template for every kind, language and
profession at start-up, so a broken override stops the sink before the first send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from babel.dates import format_date
from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from connectors.answers.tokens import AnswerLinks, AnswersSettings, AnswerTokens
from connectors.base.sink import Sink
from runtime.clock import utc_now
from runtime.settings import PsbSettings
from schemas import Channel, Language, Notification, Profession
from schemas.notification import HandoffDetails, NotificationKind, ResourceInfo, SchemeInfo

PARTS: Final = ("subject", "txt", "html")
_BLANK_LINES: Final = re.compile(r"\n\s*\n(\s*\n)+")

PROFESSION_LABELS: Final[dict[Language, dict[Profession, str]]] = {
    Language.NB: {
        Profession.PHYSICIAN: "lege",
        Profession.PSYCHOLOGIST: "psykolog",
        Profession.DENTIST: "tannlege",
        Profession.NURSE: "sykepleier",
        Profession.MIDWIFE: "jordmor",
        Profession.SOCIAL_EDUCATOR: "vernepleier",
        Profession.HEALTH_CARE_WORKER: "helsefagarbeider",
        Profession.PARAMEDIC: "ambulansearbeider",
        Profession.PHARMACIST: "farmasøyt",
        Profession.PHYSIOTHERAPIST: "fysioterapeut",
        Profession.RADIOGRAPHER: "radiograf",
        Profession.BIOMEDICAL_LAB_SCIENTIST: "bioingeniør",
        Profession.OTHER: "annet yrke",
    },
    Language.NN: {
        Profession.PHYSICIAN: "lege",
        Profession.PSYCHOLOGIST: "psykolog",
        Profession.DENTIST: "tannlege",
        Profession.NURSE: "sjukepleiar",
        Profession.MIDWIFE: "jordmor",
        Profession.SOCIAL_EDUCATOR: "vernepleiar",
        Profession.HEALTH_CARE_WORKER: "helsefagarbeidar",
        Profession.PARAMEDIC: "ambulansearbeidar",
        Profession.PHARMACIST: "farmasøyt",
        Profession.PHYSIOTHERAPIST: "fysioterapeut",
        Profession.RADIOGRAPHER: "radiograf",
        Profession.BIOMEDICAL_LAB_SCIENTIST: "bioingeniør",
        Profession.OTHER: "anna yrke",
    },
    Language.EN: {
        Profession.PHYSICIAN: "physician",
        Profession.PSYCHOLOGIST: "psychologist",
        Profession.DENTIST: "dentist",
        Profession.NURSE: "nurse",
        Profession.MIDWIFE: "midwife",
        Profession.SOCIAL_EDUCATOR: "social educator",
        Profession.HEALTH_CARE_WORKER: "health care worker",
        Profession.PARAMEDIC: "paramedic",
        Profession.PHARMACIST: "pharmacist",
        Profession.PHYSIOTHERAPIST: "physiotherapist",
        Profession.RADIOGRAPHER: "radiographer",
        Profession.BIOMEDICAL_LAB_SCIENTIST: "biomedical laboratory scientist",
        Profession.OTHER: "other profession",
    },
}

CHANNEL_LABELS: Final[dict[Language, dict[Channel, str]]] = {
    Language.NB: {Channel.EMAIL: "e-post", Channel.SMS: "SMS", Channel.TEAMS: "Teams"},
    Language.NN: {Channel.EMAIL: "e-post", Channel.SMS: "SMS", Channel.TEAMS: "Teams"},
    Language.EN: {Channel.EMAIL: "email", Channel.SMS: "text message", Channel.TEAMS: "Teams"},
}

FALLBACK_SCHEME: Final[dict[Language, dict[str, Any]]] = {
    language: {"scheme_id": "peer-support", "name": name, "contact": "", "resources": ()}
    for language, name in [
        (Language.NB, "Kollegastøtte"),
        (Language.NN, "Kollegastøtte"),
        (Language.EN, "Peer support"),
    ]
}
"""Used only if a notification arrives without a scheme, so the text still reads well."""


class TemplateSettings(PsbSettings):
    """Where message templates come from."""

    model_config = SettingsConfigDict(env_prefix="PSB_TEMPLATES_", frozen=True, extra="ignore")

    dir: Path | None = Field(
        None,
        description="Directory of message templates overriding the built-in ones by file "
        "name (<kind>.<language>.<subject|txt|html>.j2); checked at start-up.",
    )


class BrokenTemplateError(Exception):
    """A template that does not compile or render; the message names file, line and cause."""


ANSWER_LABELS: Final[dict[Language, tuple[str, str, str]]] = {
    Language.NB: ("Ja takk", "Ikke nå", "Minn meg på det senere"),
    Language.NN: ("Ja takk", "Ikkje no", "Minn meg på det seinare"),
    Language.EN: ("Yes, please", "Not now", "Remind me later"),
}
"""Button labels where a channel shows the answer links as buttons (Teams, Slack)."""


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    links: AnswerLinks | None

    def paragraphs(self) -> list[str]:
        return [part.strip() for part in self.text.split("\n\n") if part.strip()]

    def buttons(self, language: Language) -> list[tuple[str, str, str]]:
        """(answer code, label, url) for each answer link, in order; none without links."""
        if self.links is None:
            return []
        labels = ANSWER_LABELS[language]
        urls = (self.links.accept, self.links.not_now, self.links.remind_later)
        codes = ("accept", "not-now", "remind-later")
        return list(zip(codes, labels, urls, strict=True))


def template_name(kind: NotificationKind, language: Language, part: str) -> str:
    return f"{kind.value}.{language.value}.{part}.j2"


def _language_name(language: Language, shown_in: Language) -> str:
    from babel import Locale

    return str(Locale.parse(shown_in.value).languages.get(language.value, language.value))


def _handoff(details: HandoffDetails, language: Language) -> dict[str, str | None]:
    return {
        "name": details.display_name,
        "channel": CHANNEL_LABELS[language].get(
            details.contact_channel, details.contact_channel.value.capitalize()
        ),
        "address": details.contact_address,
        "profession": PROFESSION_LABELS[language][details.profession],
        "language": _language_name(details.language, language),
    }


def context(
    notification: Notification, links: AnswerLinks | None, links_valid_until: datetime | None
) -> dict[str, Any]:
    """Everything a template may use; nothing else reaches it."""
    language = notification.language
    scheme = notification.scheme.model_dump() if notification.scheme is not None else None
    if scheme is None and notification.kind is not NotificationKind.HANDOFF:
        scheme = FALLBACK_SCHEME[language]
    return {
        "kind": notification.kind.value,
        "language": language.value,
        "name": notification.display_name,
        "profession": PROFESSION_LABELS[language][notification.profession],
        "scheme": scheme,
        "links": links,
        "links_valid_until": (
            format_date(links_valid_until.date(), format="long", locale=language.value)
            if links_valid_until is not None
            else None
        ),
        "handoff": (
            _handoff(notification.handoff, language) if notification.handoff is not None else None
        ),
    }


class Templates:
    """The template set in use: built-in files, each overridable from a directory."""

    def __init__(
        self,
        override_dir: Path | None = None,
        tokens: AnswerTokens | None = None,
        link_max_age_days: int = 30,
    ) -> None:
        loaders: list[Any] = [PackageLoader("connectors", "templates")]
        if override_dir is not None:
            if not override_dir.is_dir():
                raise BrokenTemplateError(f"template directory {override_dir} does not exist")
            loaders.insert(0, FileSystemLoader(str(override_dir)))
        self._env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            keep_trailing_newline=False,
            trim_blocks=False,
        )
        self._tokens = tokens
        self._link_age = timedelta(days=link_max_age_days)

    @classmethod
    def from_settings(cls, templates: TemplateSettings, answers: AnswersSettings) -> Templates:
        return cls(templates.dir, AnswerTokens.from_settings(answers), answers.link_max_age_days)

    def links(self, notification: Notification) -> AnswerLinks | None:
        """Signed answer links for an offer or reminder; none for a hand-off or without a key."""
        if self._tokens is None or notification.kind is NotificationKind.HANDOFF:
            return None
        return self._tokens.links(
            notification.offer_id, notification.recipient_ref, notification.language
        )

    def render(
        self, notification: Notification, now: datetime | None = None, inline_links: bool = True
    ) -> RenderedMessage:
        """Subject, text and HTML of ``notification``. With ``inline_links`` false the text
        leaves the answer links out, for channels that show them as buttons."""
        links = self.links(notification)
        valid_until = (now or utc_now()) + self._link_age if links is not None else None
        values = context(notification, links if inline_links else None, valid_until)
        parts = {
            part: self._env.get_template(
                template_name(notification.kind, notification.language, part)
            ).render(values)
            for part in PARTS
        }
        return RenderedMessage(
            subject=" ".join(parts["subject"].split()),
            text=_BLANK_LINES.sub("\n\n", parts["txt"]).strip() + "\n",
            html=parts["html"].strip() + "\n",
            links=links,
        )

    def check(self) -> int:
        """Render every template for every kind, language and profession, with and without
        links; raises :class:`BrokenTemplateError` naming the file and line. Returns how many
        renderings succeeded."""
        rendered = 0
        for notification in sample_notifications():
            for part in PARTS:
                name = template_name(notification.kind, notification.language, part)
                try:
                    template = self._env.get_template(name)
                    for links in (None, _SAMPLE_LINKS):
                        template.render(context(notification, links, utc_now()))
                        rendered += 1
                except TemplateError as exc:
                    raise BrokenTemplateError(_describe(name, exc)) from None
        return rendered


def _describe(name: str, exc: TemplateError) -> str:
    where = getattr(exc, "filename", None) or name
    line = getattr(exc, "lineno", None)
    position = f"{Path(where).name}, line {line}" if line else Path(where).name
    return f"template {name} is broken ({position}): {exc.message or type(exc).__name__}"


_SAMPLE_LINKS: Final = AnswerLinks(
    accept="https://answers.example/a/accept",
    not_now="https://answers.example/a/not-now",
    remind_later="https://answers.example/a/remind-later",
)


def sample_notifications() -> list[Notification]:
    """One notification per kind, language and profession, with made-up routing data."""
    created = datetime(2026, 1, 1, tzinfo=UTC)
    samples = []
    for kind in NotificationKind:
        for language in Language:
            for profession in Profession:
                handoff = (
                    HandoffDetails(
                        person="stf_" + "0" * 32,
                        display_name="Kari Nordmann",
                        contact_channel=Channel.EMAIL,
                        contact_address="kari@sykehus.example",
                        profession=profession,
                        language=language,
                    )
                    if kind is NotificationKind.HANDOFF
                    else None
                )
                samples.append(
                    Notification(
                        notification_id="ntf_" + "0" * 32,
                        offer_id="off_" + "0" * 32,
                        kind=kind,
                        channel=Channel.EMAIL,
                        address="person@sykehus.example",
                        recipient_ref="stf_" + "1" * 32,
                        display_name="Ola Nordmann",
                        language=language,
                        profession=profession,
                        scheme=SchemeInfo(
                            scheme_id="sample",
                            name="Kollegastøtte",
                            contact="kollegastotte@sykehus.example",
                            resources=(ResourceInfo(name="Hjelpetelefonen", contact="116 123"),),
                        ),
                        handoff=handoff,
                        policy_version="sample",
                        created_at=created,
                    )
                )
    return samples


class TemplatedSink(Sink):
    """A sink that renders messages; its templates are checked in :meth:`setup`, so a broken
    override stops the sink at start-up, before the first send."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates

    async def setup(self) -> None:
        self.templates.check()
