"""Message templates: every kind, language and profession renders, says what Ukom's criteria
ask for, carries the signed answer links, and can carry nothing about the incident."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings

from connectors.answers.tokens import AnswersSettings, AnswerTokens
from connectors.messages import (
    BrokenTemplateError,
    RenderedMessage,
    Templates,
    TemplateSettings,
    sample_notifications,
)
from schemas import Answer, Channel, ContactPoint, Language, Notification, Profession, StaffProfile
from schemas.boundary import minimize
from schemas.notification import NotificationKind
from streams.agents.dispatch import notification_for
from streams.policy.decide import decide
from tests.unit.helpers import EVERYONE, KEY, RECEIVED_AT, VOCABULARY, lenient_policy
from tests.unit.test_privacy_markers import fhir_r5_reports, native_reports

SECRET = "template-test-answer-link-key-0123456789"
TOKENS = AnswerTokens(AnswersSettings(secret=SECRET))
WITH_LINKS = Templates(tokens=TOKENS)
WITHOUT_LINKS = Templates()

PROMISES = {
    Language.NB: ["frivillig", "fortrolig", "ikke behandling", "skrevet ned", "gitt videre"],
    Language.NN: ["frivillig", "fortruleg", "ikkje behandling", "skrive ned", "gitt vidare"],
    Language.EN: ["voluntary", "confidential", "not treatment", "written down", "passed on"],
}


def everything(message: RenderedMessage) -> str:
    return "\n".join([message.subject, message.text, message.html])


def claims(message: RenderedMessage) -> list[dict[str, Any]]:
    assert message.links is not None
    urls = [message.links.accept, message.links.not_now, message.links.remind_later]
    return [
        TOKENS.verify(urlsplit(url).path.rsplit("/", 1)[1]).model_dump(mode="json") for url in urls
    ]


def test_the_built_in_set_passes_its_start_up_check() -> None:
    kinds, languages, professions, parts = 3, 3, len(Profession), 3
    assert WITH_LINKS.check() == kinds * languages * professions * parts * 2


@pytest.mark.parametrize("notification", sample_notifications(), ids=lambda n: n.kind.value)
def test_every_kind_language_and_profession_renders(notification: Notification) -> None:
    message = WITH_LINKS.render(notification)
    assert message.subject and "\n" not in message.subject
    assert message.html.startswith("<!DOCTYPE html>")
    assert f'lang="{notification.language.value}"' in message.html
    if notification.kind is NotificationKind.HANDOFF:
        assert message.links is None and "/a/" not in everything(message)
        assert "Kari Nordmann" in message.text and "kari@sykehus.example" in message.text
        return
    assert notification.scheme is not None
    for text in (message.text, message.html):
        assert notification.scheme.name in text
        assert notification.scheme.contact in text
        assert "Hjelpetelefonen: 116 123" in text
        for promise in PROMISES[notification.language]:
            assert promise in text, (notification.language, promise)
    assert message.links is not None
    for url in (message.links.accept, message.links.not_now, message.links.remind_later):
        assert url in message.text and f'href="{url}"' in message.html


def test_links_are_signed_for_the_offer_person_and_answer() -> None:
    notification = sample_notifications()[0]
    found = claims(WITH_LINKS.render(notification))
    assert [claim["answer"] for claim in found] == [a.value for a in Answer]
    assert {claim["offer_id"] for claim in found} == {notification.offer_id}
    assert {claim["person"] for claim in found} == {notification.recipient_ref}


def test_without_a_link_key_messages_carry_no_links() -> None:
    message = WITHOUT_LINKS.render(sample_notifications()[0])
    assert message.links is None and "/a/" not in everything(message)
    assert "frivillig" in message.text


def test_handoff_names_profession_and_language_in_the_supporters_language() -> None:
    handoff = next(
        n
        for n in sample_notifications()
        if n.kind is NotificationKind.HANDOFF
        and n.language is Language.NB
        and n.profession is Profession.NURSE
    )
    text = WITH_LINKS.render(handoff).text
    assert "Yrke: sykepleier" in text and "Språk: norsk bokmål" in text
    assert "Kontakt: e-post kari@sykehus.example" in text


def test_html_escapes_what_it_shows() -> None:
    notification = sample_notifications()[0].model_copy(update={"display_name": "Ola <b>"})
    message = WITH_LINKS.render(notification)
    assert "Ola &lt;b&gt;" in message.html and "Ola <b>" in message.text


def test_an_override_directory_replaces_single_files(tmp_path: Path) -> None:
    (tmp_path / "offer.en.subject.j2").write_text("Would you like to talk, {{ name }}?")
    templates = Templates.from_settings(
        TemplateSettings(dir=tmp_path), AnswersSettings(secret=SECRET)
    )
    templates.check()
    offer_en = next(
        n
        for n in sample_notifications()
        if n.kind is NotificationKind.OFFER and n.language is Language.EN
    )
    assert templates.render(offer_en).subject == "Would you like to talk, Ola Nordmann?"
    assert "voluntary" in templates.render(offer_en).text  # the rest stays built in


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Hello {{ name ", "offer.nb.txt.j2, line 1"),
        ("Hello\n{{ incident.date }}", "'incident' is undefined"),
        ("{% for x in %}", "offer.nb.txt.j2, line 1"),
    ],
)
def test_a_broken_override_is_refused_by_the_check(
    tmp_path: Path, content: str, expected: str
) -> None:
    (tmp_path / "offer.nb.txt.j2").write_text(content)
    with pytest.raises(BrokenTemplateError, match=r"offer\.nb\.txt\.j2") as caught:
        Templates(tmp_path).check()
    assert expected in str(caught.value)


def test_a_missing_override_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BrokenTemplateError, match="does not exist"):
        Templates(tmp_path / "nowhere")


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    (tmp_path / "offer.nb.txt.j2").write_text("{{ name.__class__.__mro__ }}")
    with pytest.raises(BrokenTemplateError):
        Templates(tmp_path).check()


def rendered_from_report(document: dict[str, Any]) -> str:
    signal = minimize(json.dumps(document).encode(), KEY, VOCABULARY, received_at=RECEIVED_AT)
    policy = lenient_policy()
    outputs = []
    for number, offer in enumerate(decide(signal, policy, RECEIVED_AT, KEY, EVERYONE).offers):
        language = list(Language)[number % 3]
        profile = StaffProfile(
            staff_ref=f"emp-{number}",
            display_name="Kari Nordmann",
            profession=list(Profession)[number % len(Profession)],
            unit_code="MED-3",
            channels=(ContactPoint(channel=Channel.EMAIL, address=f"s{number}@sykehus.example"),),
            language=language,
        )
        for kind in (NotificationKind.OFFER, NotificationKind.REMINDER):
            note = notification_for(
                KEY, offer, profile, frozenset(Channel), RECEIVED_AT, policy, kind=kind
            )
            assert isinstance(note, Notification)
            message = WITH_LINKS.render(note)
            outputs += [everything(message), json.dumps(claims(message))]
    assert outputs, "the report made no offer: the check would see nothing"
    return "\n".join(outputs)


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(native_reports())
def test_no_marker_from_a_native_report_reaches_a_message(
    case: tuple[dict[str, Any], list[str]],
) -> None:
    document, markers = case
    output = rendered_from_report(document)
    assert not [marker for marker in markers if marker in output]


@PROPERTY
@given(fhir_r5_reports())
def test_no_marker_from_a_fhir_report_reaches_a_message(
    case: tuple[dict[str, Any], list[str]],
) -> None:
    document, markers = case
    output = rendered_from_report(document)
    assert not [marker for marker in markers if marker in output]
