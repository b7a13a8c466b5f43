"""Policy files: the default is valid, and each broken policy gets the error a quality
department needs: the line, the key, and what is allowed."""

from __future__ import annotations

import pytest

from schemas.policy import PolicyError, default_policy, default_policy_text, parse_policy
from schemas.policy.model import Profession

BASE = """\
version: test-1
owner: Kvalitetsavdelingen
schemes:
  - id: everyone
    name: {nb: Kollegastøtte}
    default: true
    owner: Kvalitetsavdelingen
    contact: kollegastotte@sykehus.example
"""


def test_default_policy_is_valid_and_routes_every_profession() -> None:
    policy = default_policy()
    assert {profession: policy.scheme_for(profession).id for profession in Profession} == {
        **dict.fromkeys(Profession, "arbeidsgiver"),
        Profession.PHYSICIAN: "legeforeningen",
        Profession.PSYCHOLOGIST: "psykologforeningen",
        Profession.DENTIST: "tannlegeforeningen",
    }
    assert policy.timing.timezone == "Europe/Oslo"
    assert policy.roles.reporter and policy.roles.involved and not policy.roles.witness


def test_a_minimal_policy_takes_documented_defaults() -> None:
    policy = parse_policy(BASE)
    assert policy.timing.reminder.enabled
    assert policy.schemes[0].first_contact_within.total_seconds() == 24 * 3600


BROKEN = [
    (
        BASE + "triggers:\n  minimum_severity: sever\n",
        "policy.yaml:10: triggers.minimum_severity: Input should be 'none', 'mild', "
        "'moderate', 'severe' or 'death'",
    ),
    (
        BASE + "trigers: {}\n",
        "policy.yaml:9: trigers: unknown key; allowed here: version, owner, triggers, roles, "
        "timing, schemes, supporter_selection",
    ),
    (
        BASE + "timing:\n  delay: two hours\n",
        "policy.yaml:10: timing.delay: use a number and a unit: s, m, h or d "
        "(for example 2h or 3d)",
    ),
    (
        BASE + "timing:\n  timezone: Oslo\n",
        "policy.yaml:10: timing.timezone: use an IANA time zone name such as Europe/Oslo",
    ),
    (
        BASE + "timing:\n  quiet_hours: {start: '21:00', end: '21:00'}\n",
        "policy.yaml:10: timing.quiet_hours: quiet hours need different start and end times",
    ),
    (
        BASE + "timing:\n  reminder: {after: 0s}\n",
        "policy.yaml:10: timing.reminder.after: the reminder must come after the offer: "
        "use a positive duration",
    ),
    (
        BASE + "roles: {reporter: false, involved: false, witness: false}\n",
        "policy.yaml:9: roles: offer support to at least one role: reporter, involved or witness",
    ),
    (
        BASE.replace("    default: true\n", "    professions: [nurse]\n"),
        "policy.yaml:3: schemes: no scheme serves physician, psychologist, dentist, midwife, "
        "social-educator, health-care-worker, paramedic, pharmacist, physiotherapist, "
        "radiographer, biomedical-lab-scientist, other; add them to a scheme or mark one "
        "scheme with default: true",
    ),
    (
        BASE + "  - id: nurses\n    name: {nb: Sykepleiere}\n    professions: [nurse, doktor]\n"
        "    owner: x\n    contact: y\n",
        "policy.yaml:11: schemes.1.professions.1: Input should be 'physician', 'psychologist', "
        "'dentist', 'nurse', 'midwife', 'social-educator', 'health-care-worker', 'paramedic', "
        "'pharmacist', 'physiotherapist', 'radiographer', 'biomedical-lab-scientist' or 'other'",
    ),
    (
        BASE + "  - id: everyone\n    name: {nb: To}\n    owner: x\n    contact: y\n",
        "policy.yaml:3: schemes: scheme ids must be unique; repeated: everyone",
    ),
    (
        BASE
        + "  - id: a\n    name: {nb: A}\n    professions: [nurse]\n    owner: x\n    contact: y\n"
        "  - id: b\n    name: {nb: B}\n    professions: [nurse]\n    owner: x\n    contact: y\n",
        "policy.yaml:3: schemes: profession nurse is in two schemes (a and b); give it to one",
    ),
    (
        BASE.replace("    contact: kollegastotte@sykehus.example\n", ""),
        "policy.yaml:4: schemes.0.contact: required key is missing",
    ),
    (
        BASE
        + "  - id: x y\n    name: {nb: X}\n    professions: [nurse]\n"
        + "    owner: x\n    contact: y\n",
        "policy.yaml:9: schemes.1.id: use a code: letters, digits and . _ : / + - with no "
        "spaces, at most 64 characters",
    ),
    (
        BASE.replace("    contact: kollegastotte@sykehus.example\n", "    contact: k\n")
        + "    coordinator: {channel: sms, address: '12345'}\n",
        "policy.yaml:9: schemes.0.coordinator: address must be a phone number in E.164 form, "
        "e.g. +4791234567",
    ),
    (BASE + "version: test-2\n", "policy.yaml:9: version: key appears twice"),
    (
        "version: [unclosed\n",
        "policy.yaml:2: $: not valid YAML: expected ',' or ']', but got '<stream end>'",
    ),
    ("- just\n- a list\n", "policy.yaml:1: $: the policy must be a YAML mapping"),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN, ids=range(len(BROKEN)))
def test_broken_policy_is_refused_with_line_key_and_what_is_allowed(
    text: str, expected: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert str(caught.value).splitlines() == [expected]


def test_every_problem_is_reported_at_once() -> None:
    text = BASE + "roles: {reporter: maybe}\ntiming: {delay: soon, timezone: Mars}\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert [problem.path for problem in caught.value.problems] == [
        "roles.reporter",
        "timing.timezone",
        "timing.delay",
    ]


def test_the_default_policy_text_is_annotated_for_quality_departments() -> None:
    text = default_policy_text()
    assert text.count("#") > 20
    assert "policy check" in text and "policy simulate" in text
