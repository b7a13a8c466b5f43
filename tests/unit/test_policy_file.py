"""Policy files: the default is valid, and each broken policy gets the error a quality
department needs: the line, the key, and what is allowed."""

from __future__ import annotations

import codecs
import random
import string
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas.policy import (
    PolicyError,
    default_policy,
    default_policy_text,
    load_policy,
    parse_policy,
    read_policy_text,
)
from schemas.policy.model import Profession


def marker() -> str:
    return "MRK" + "".join(random.choices(string.ascii_uppercase, k=12))


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
        "timing, schemes, supporter_selection, codes, retention",
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
        "policy.yaml:9: schemes.0.coordinator.address: address must be a phone number in use "
        "in its country's numbering plan",
    ),
    (BASE + "version: test-2\n", "policy.yaml:9: version: key appears twice"),
    (
        "version: [unclosed\n",
        "policy.yaml:2: $: not valid YAML: expected ',' or ']', but got '<stream end>'",
    ),
    ("- just\n- a list\n", "policy.yaml:1: $: the policy must be a YAML mapping"),
    (
        BASE + "retention: {offers: 2d}\n",
        "policy.yaml:9: retention.offers: must be at least 14d, the longest of "
        "triggers.max_report_age and timing.delay plus two reminder intervals and two days, "
        "so no replay is offered again and no reminder is lost",
    ),
    (
        BASE + "codes: {units: [MED-3, '15076500565']}\n",
        "policy.yaml:9: codes.units: code number 2 looks like a national identity number; "
        "a code must not identify a person",
    ),
    (
        BASE + "triggers: {categories: {include: [kari.nordmann@sykehus.no]}}\n",
        "policy.yaml:9: triggers.categories.include.0: use a code: letters, digits and "
        ". _ : / + - with no spaces, at most 64 characters",
    ),
    (
        BASE + "codes: {categories: [fall, '+47 912 34 567']}\n",
        "policy.yaml:9: codes.categories.1: use a code: letters, digits and . _ : / + - with "
        "no spaces, at most 64 characters",
    ),
]


def test_declared_codes_cross_the_boundary_and_count_with_the_triggers() -> None:
    policy = parse_policy(
        BASE + "codes: {categories: [fall], units: [MED-3]}\n"
        "triggers: {units: {exclude: [PSY-1]}, categories: {include: [violence]}}\n"
    )
    assert policy.declared_categories() == {"fall", "violence"}
    assert policy.declared_units() == {"MED-3", "PSY-1"}


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


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
    ],
)
def test_utf8_and_utf16_with_a_bom_are_read(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = BASE.replace("Kvalitetsavdelingen", "Kvalitetsavdelingen æøå")
    path = tmp_path / "policy.yaml"
    path.write_bytes(bom + text.encode(encoding))
    assert read_policy_text(path) == text
    assert load_policy(path).owner == "Kvalitetsavdelingen æøå"


REFUSED_ENCODINGS = {
    "latin-1": (lambda mark: f"version: v1\nowner: x\n# æøå {mark}\n".encode("latin-1"), 3),
    "utf-16-le-no-bom": (lambda mark: f"version: v1 # {mark}\n".encode("utf-16-le"), 1),
    "utf-16-be-no-bom": (lambda mark: f"version: v1 # {mark}\n".encode("utf-16-be"), 1),
    "utf-16-truncated": (
        lambda mark: codecs.BOM_UTF16_LE + f"v: 1\n# æøå {mark}\n".encode("utf-16-le")[:-1],
        2,
    ),
}


@pytest.mark.parametrize(("encode", "line"), REFUSED_ENCODINGS.values(), ids=REFUSED_ENCODINGS)
def test_a_file_in_another_encoding_is_refused_by_line_never_quoted(
    tmp_path: Path, encode: Callable[[str], bytes], line: int
) -> None:
    secret = marker()
    path = tmp_path / "policy.yaml"
    path.write_bytes(encode(secret))
    with pytest.raises(PolicyError) as caught:
        read_policy_text(path)
    assert (
        str(caught.value) == f"{path}:{line}: $: the file is not UTF-8 text; save the file as UTF-8"
    )
    assert secret not in str(caught.value)


def test_a_missing_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "absent.yaml")
    assert str(caught.value).endswith(
        "absent.yaml:0: $: cannot read the file (No such file or directory)"
    )


YAML_QUOTING = [
    ("owner: *{marker}\n", 2, "found undefined alias '...'"),
    ("owner: !{marker} x\n", 2, "could not determine a constructor for the tag '...'"),
    ("owner: !<tag:{marker}> x\n", 2, "could not determine a constructor for the tag '...'"),
    ('owner: "\\q{marker}"\n', 2, "found unknown escape character '...'"),
    ('owner: *"{marker}\n', 2, "expected alphabetic or numeric character, but found '...'"),
    ("owner: x\n\x01{marker}\n", 3, "a character YAML does not allow"),
    ("owner: 2020-13-45 # {marker}\n", 0, "a value is out of range"),
]


@pytest.mark.parametrize(("text", "line", "message"), YAML_QUOTING)
def test_yaml_errors_keep_the_line_and_never_quote_the_file(
    text: str, line: int, message: str
) -> None:
    secret = marker()
    with pytest.raises(PolicyError) as caught:
        parse_policy("version: v1\n" + text.replace("{marker}", secret))
    assert str(caught.value) == f"policy.yaml:{line}: $: not valid YAML: {message}"
    assert secret not in str(caught.value)
