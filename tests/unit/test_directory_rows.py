"""Validating directory and supporter files: each refused row names its line, the field
and the rule, and never repeats what the row said."""

from __future__ import annotations

import pytest

from connectors.directory.load import FileFormatError, Kind, validate_text
from schemas import Channel, StaffProfile, SupporterProfile

HEADER = "staff_ref,display_name,profession,unit,manager_ref,language,opted_out,email,sms\n"
GOOD = "emp-1,Kari Nordmann,nurse,MED-3,emp-9,nb,no,kari@sykehus.example,+4791234567\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "emp-2,Per Hansen,surgeon,MED-3,,,,,\n",
            "line 3: profession: must be one of: physician, psychologist",
        ),
        (
            "emp-2,Per Hansen,nurse,MED-3,,,,per.hansen(at)sykehus,\n",
            "line 3: email: must be an email address",
        ),
        (
            "emp-2,Per Hansen,nurse,MED-3,,,,,0047-phone\n",
            "line 3: sms: must be a phone number",
        ),
        (",Per Hansen,nurse,MED-3,,,,,\n", "line 3: staff_ref: is required"),
        ("emp-1,Per Hansen,nurse,MED-3,,,,,\n", "line 3: staff_ref: duplicate of line 2"),
        ("emp-2,Per Hansen,nurse,,,,,,\n", "line 3: unit: is required"),
        ("emp-2,Per Hansen,nurse,Akutt mottak,,,,,\n", "line 3: unit: must be a code"),
        ("emp-2,Per Hansen,nurse,MED-3,,se,,,\n", "line 3: language: must be one of: nb, nn, en"),
        ("emp-2,Per Hansen,nurse,MED-3,,,maybe,,\n", "line 3: opted_out: must be true or false"),
        ("emp 2,Per Hansen,nurse,MED-3,,,,,\n", "line 3: staff_ref: must be one token"),
        ("emp-2,Hansen, Per,nurse,MED-3,,,,,\n", "line 3: row: has more cells than the header"),
    ],
)
def test_a_bad_staff_row_is_refused_with_its_line_and_rule(row: str, message: str) -> None:
    result = validate_text(HEADER + GOOD + row, ".csv", Kind.STAFF)
    assert len(result.errors) == 1
    assert str(result.errors[0]).startswith(message)
    assert list(result.entries) == ["emp-1"]
    # the refusal never repeats the row's content
    for cell in row.strip().split(","):
        if cell and cell not in {"emp-1", "nurse", "MED-3"}:
            assert cell not in str(result.errors[0])


def test_a_valid_row_becomes_a_profile_with_its_channels_in_order() -> None:
    text = "staff_ref,profession,unit,email,sms,channel_order,opted_out\n"
    text += "emp-5,Physician,MED-3,ola@sykehus.example,+4791234567,sms,yes\n"
    result = validate_text(text, ".csv", Kind.STAFF)
    profile = result.entries["emp-5"]
    assert isinstance(profile, StaffProfile)
    assert [point.channel for point in profile.channels] == [Channel.SMS, Channel.EMAIL]
    assert profile.opted_out is True
    assert profile.profession.value == "physician"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('{"staff_ref": "emp-2", "profession": "surgeon", "unit_code": "A"}', "profession: must"),
        ('{"profession": "nurse", "unit_code": "A"}', "staff_ref: is required"),
        (
            '{"staff_ref": "emp-2", "profession": "nurse", "unit_code": "A",'
            ' "channels": [{"channel": "email", "address": "nope"}]}',
            "channels[0]: address must be an email address",
        ),
        ('{"staff_ref": "emp-2", "profession": "nurse", "unit_code": "A", "x": 1}', "x: is not"),
        ("not json", "row: is not a JSON object"),
    ],
)
def test_a_bad_ndjson_line_is_refused(row: str, message: str) -> None:
    good = '{"staff_ref": "emp-1", "profession": "nurse", "unit_code": "A"}'
    result = validate_text(f"{good}\n\n{row}\n", ".ndjson", Kind.STAFF)
    assert len(result.errors) == 1
    assert str(result.errors[0]).startswith(f"line 3: {message}")
    assert "nope" not in str(result.errors[0])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("emp-2,arbeidsgiver,2027-13-01,,", "line 3: trained_until: must be a date"),
        ("emp-2,arbeidsgiver,2027-01-01,,0", "line 3: capacity: must be a whole number"),
        ("emp-2,,2027-01-01,,", "line 3: scheme: is required"),
        ("emp-2,arbeidsgiver,2027-01-01,perhaps,", "line 3: active: must be true or false"),
    ],
)
def test_a_bad_supporter_row_is_refused(row: str, message: str) -> None:
    text = "staff_ref,scheme,trained_until,active,capacity\nemp-1,arbeidsgiver,2027-06-30,yes,2\n"
    result = validate_text(text + row + "\n", ".csv", Kind.SUPPORTERS)
    assert str(result.errors[0]).startswith(message)
    supporter = result.entries["emp-1"]
    assert isinstance(supporter, SupporterProfile)
    assert supporter.capacity == 2


def test_unknown_columns_and_extensions_are_refused_as_a_whole() -> None:
    with pytest.raises(FileFormatError, match="unknown CSV column"):
        validate_text("staff_ref,salary\nemp-1,1\n", ".csv", Kind.STAFF)
    with pytest.raises(FileFormatError, match=r"\.csv or \.ndjson"):
        validate_text("", ".xlsx", Kind.STAFF)


def test_every_problem_of_a_row_is_listed_in_the_order_of_its_columns() -> None:
    row = "emp 2,Per Hansen,surgeon,,,se,maybe,per.hansen(at)sykehus,0047-phone\n"
    result = validate_text(HEADER + GOOD + row, ".csv", Kind.STAFF)
    assert [(error.line, error.field) for error in result.errors] == [
        (3, "staff_ref"),
        (3, "profession"),
        (3, "unit"),
        (3, "language"),
        (3, "opted_out"),
        (3, "email"),
        (3, "sms"),
    ]
    assert result.refused == 1
    assert result.summary() == "2 rows read: 1 valid, 1 refused"
    for cell in ("emp 2", "surgeon", "maybe", "per.hansen(at)sykehus", "0047-phone"):
        assert all(cell not in str(error) for error in result.errors)


def test_a_supporter_of_a_scheme_the_policy_lacks_is_refused() -> None:
    schemes = {"arbeidsgiver", "legeforeningen"}
    text = "staff_ref,scheme,trained_until\nemp-1,arbeidsgiver,2027-06-30\n"
    text += "emp-2,fagforbundet,2027-06-30\nemp-3,fagforbundet,2027-13-01\n"
    result = validate_text(text, ".csv", Kind.SUPPORTERS, schemes)
    assert [str(error) for error in result.errors] == [
        "line 3: scheme: must be a scheme of the policy: arbeidsgiver, legeforeningen",
        "line 4: scheme: must be a scheme of the policy: arbeidsgiver, legeforeningen",
        "line 4: trained_until: must be a date, YYYY-MM-DD",
    ]
    line = '{"staff_ref": "emp-4", "scheme_id": "fagforbundet", "trained_until": "2027-06-30"}'
    refused = validate_text(line, ".ndjson", Kind.SUPPORTERS, schemes)
    assert [str(error) for error in refused.errors] == [
        "line 1: scheme_id: must be a scheme of the policy: arbeidsgiver, legeforeningen"
    ]
