"""Contact addresses as the staff directory stores them: phone numbers checked against their
country's numbering plan and kept as E.164, e-mail addresses with internationalised domains
kept in normal form; the same from a directory row and from LDAP, and a refusal names the
rule, never the address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from connectors.directory.ldap_mapping import Skip, profile_of
from connectors.directory.ldap_settings import LdapSettings
from peer_support.settings_errors import describe
from runtime.settings import DirectorySettings
from schemas import Channel, ContactPoint, StaffProfile
from schemas.staff import ascii_email, default_phone_region


@pytest.fixture(autouse=True)
def fresh_region(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The region is read once per process; each test reads its own."""
    monkeypatch.delenv("PSB_DIRECTORY_PHONE_REGION", raising=False)
    default_phone_region.cache_clear()
    yield
    default_phone_region.cache_clear()


def stored(channel: Channel, address: str, region: str | None = None) -> str:
    context = {"phone_region": region} if region else None
    point = ContactPoint.model_validate({"channel": channel, "address": address}, context=context)
    return point.address


def refusal(channel: Channel, address: str, region: str | None = None) -> str:
    with pytest.raises(ValidationError) as caught:
        stored(channel, address, region)
    (error,) = caught.value.errors(include_input=False, include_url=False)
    message = str(error["msg"])
    assert address not in message and address.strip() not in message
    return message.removeprefix("Value error, ")


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("+4791234567", None, "+4791234567"),
        ("+47 912 34 567", None, "+4791234567"),
        ("912 34 567", None, "+4791234567"),  # PSB_DIRECTORY_PHONE_REGION's default, NO
        ("0047 912 34 567", None, "+4791234567"),
        ("07911 123456", "GB", "+447911123456"),
        ("+44 (0)7911 123456", None, "+447911123456"),  # the trunk 0 is not kept
        ("070-123 45 67", "SE", "+46701234567"),
        ("+4791234567", "SE", "+4791234567"),  # a stored number reads the same anywhere
    ],
)
def test_a_phone_number_is_stored_as_e164(written: str, region: str | None, e164: str) -> None:
    assert stored(Channel.SMS, written, region) == e164


@pytest.mark.parametrize(
    ("written", "rule"),
    [
        ("+4407700900123", "in use in its country's numbering plan"),  # was kept as written
        ("+4712345678", "in use in its country's numbering plan"),
        ("12", "as many digits as a phone number of its country"),
        ("+47 912 34 567 890 12", "as many digits as a phone number of its country"),
        ("+999 1234 5678", "a country code that exists"),
        ("1-800-FLOWERS", "digits, spaces and + - . ( ) / only"),
        ("+4791234567 ext. 12", "digits, spaces and + - . ( ) / only"),
        ("+4798765432\n", "on one line"),
    ],
)
def test_a_phone_number_that_is_not_one_is_refused_by_its_rule(written: str, rule: str) -> None:
    assert rule in refusal(Channel.SMS, written)


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("kari@helse-sør.no", "kari@helse-sør.no"),
        ("kari@xn--helse-sr-c5a.no", "kari@helse-sør.no"),
        ("Kari.Nordmann@Sykehus.Example", "Kari.Nordmann@sykehus.example"),
    ],
)
def test_an_email_address_may_have_an_internationalised_domain(written: str, normal: str) -> None:
    assert stored(Channel.EMAIL, written) == normal


def test_an_internationalised_domain_has_a_form_for_servers_without_smtputf8() -> None:
    assert ascii_email(stored(Channel.EMAIL, "kari@helse-sør.no")) == "kari@xn--helse-sr-c5a.no"
    assert ascii_email("kåre@helse.no") is None  # only SMTPUTF8 can carry this one


@pytest.mark.parametrize(
    "written",
    ["kari at sykehus", "kari@sykehus", "kari@@sykehus.example", "kari@localhost", "<kari@x.no>"],
)
def test_an_email_address_that_is_not_one_is_refused_by_its_rule(written: str) -> None:
    assert refusal(Channel.EMAIL, written).startswith("address must be an email address")


def test_many_addresses_of_one_domain_each_keep_their_own_name_and_rule() -> None:
    # a domain is checked once per process: what differs is still checked per address
    names = [f"person.{number}" for number in range(50)]
    for name in names:
        assert stored(Channel.EMAIL, f"{name}@Helse-Sør.no") == f"{name}@helse-sør.no"
    assert refusal(Channel.EMAIL, "two..dots@helse-sør.no").startswith("address must be")
    assert refusal(Channel.EMAIL, "kari@helse-sør").startswith("address must be")
    assert ascii_email("kari@helse-sør.no") == "kari@xn--helse-sr-c5a.no"


def test_the_default_region_comes_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSB_DIRECTORY_PHONE_REGION", "se")
    assert stored(Channel.SMS, "070-123 45 67") == "+46701234567"


def test_an_unknown_region_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSB_DIRECTORY_PHONE_REGION", "XX")
    with pytest.raises(ValidationError) as caught:
        DirectorySettings()
    assert describe(caught.value, DirectorySettings) == [
        "PSB_DIRECTORY_PHONE_REGION is not valid (value_error)"
    ]
    assert "PSB_DIRECTORY_PHONE_REGION must be a two-letter country code" in refusal(
        Channel.SMS, "912 34 567"
    )
    assert stored(Channel.SMS, "+4791234567") == "+4791234567"  # needs no region


def test_a_directory_row_and_an_ldap_entry_store_the_same_addresses() -> None:
    row = StaffProfile.model_validate(
        {
            "staff_ref": "kno01",
            "profession": "nurse",
            "unit_code": "MED-3",
            "channels": [
                {"channel": "email", "address": "Kari@HELSE-SØR.no"},
                {"channel": "sms", "address": "912 34 567"},
            ],
        }
    )
    settings = LdapSettings(url="ldaps://ad.hf.example:636", base_dn="DC=hf,DC=example")
    entry = {
        "samaccountname": ["kno01"],
        "title": ["nurse"],
        "department": ["MED-3"],
        "mail": ["Kari@HELSE-SØR.no"],
        "mobile": ["912 34 567"],
    }
    ldap = profile_of(entry, {}, settings)
    assert not isinstance(ldap, Skip)
    expected = [(Channel.EMAIL, "Kari@helse-sør.no"), (Channel.SMS, "+4791234567")]
    assert [(p.channel, p.address) for p in row.channels] == expected
    assert [(p.channel, p.address) for p in ldap.channels] == expected


def test_an_ldap_entry_with_a_wrong_number_is_kept_without_it() -> None:
    settings = LdapSettings(url="ldaps://ad.hf.example:636", base_dn="DC=hf,DC=example")
    entry = {
        "samaccountname": ["kno01"],
        "title": ["nurse"],
        "department": ["MED-3"],
        "mobile": ["+4407700900123"],
    }
    profile = profile_of(entry, {}, settings)
    assert not isinstance(profile, Skip)
    assert profile.channels == ()
