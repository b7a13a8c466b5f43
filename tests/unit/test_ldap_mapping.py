"""The LDAP attribute mapping: what a directory entry becomes, or why it is skipped."""

from __future__ import annotations

import pytest

from connectors.directory.ldap_mapping import Skip, language_of, phone_of, profile_of
from connectors.directory.ldap_settings import LdapSettings
from schemas import Channel, Language, Profession

SETTINGS = LdapSettings(
    url="ldaps://ad.hf.example:636",
    base_dn="OU=Ansatte,DC=hf,DC=example",
    profession_map={"Lege": Profession.PHYSICIAN, "Sykepleier": Profession.NURSE},
    profession_groups={"CN=Psykologer, OU=Grupper,DC=hf,DC=example": Profession.PSYCHOLOGIST},
    unit_map={"Akuttmottaket": "AKM"},
)


def entry(**attributes: str | list[str]) -> dict[str, list[str]]:
    base: dict[str, str | list[str]] = {
        "samaccountname": "kno01",
        "title": "sykepleier",
        "department": "MED-3",
    }
    base.update(attributes)
    return {name: value if isinstance(value, list) else [value] for name, value in base.items()}


def test_an_ad_user_becomes_a_profile_with_manager_and_channels() -> None:
    profile = profile_of(
        entry(
            displayname="Kari Nordmann",
            manager="CN=Berit Leder,OU=Ansatte,DC=hf,DC=example",
            mail="kari@hf.example",
            mobile="0047 912 34 567",
            preferredlanguage="nn-NO",
        ),
        {"cn=berit leder,ou=ansatte,dc=hf,dc=example": "ble01"},
        SETTINGS,
    )
    assert not isinstance(profile, Skip)
    assert profile.profession is Profession.NURSE  # the map is matched case-insensitively
    assert profile.manager_ref == "ble01"
    assert [(p.channel, p.address) for p in profile.channels] == [
        (Channel.EMAIL, "kari@hf.example"),
        (Channel.SMS, "+4791234567"),
    ]
    assert profile.language is Language.NN


def test_a_group_wins_over_the_title_and_units_are_mapped() -> None:
    profile = profile_of(
        entry(
            memberof=["CN=Alle,DC=hf,DC=example", "cn=psykologer,ou=grupper,dc=hf,dc=example"],
            department="Akuttmottaket",
        ),
        {},
        SETTINGS,
    )
    assert not isinstance(profile, Skip)
    assert (profile.profession, profile.unit_code) == (Profession.PSYCHOLOGIST, "AKM")


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"samaccountname": []}, Skip.NO_REFERENCE),
        ({"samaccountname": "kari nordmann"}, Skip.NO_REFERENCE),
        ({"title": "Portør"}, Skip.NO_PROFESSION),
        ({"department": "Medisinsk avdeling"}, Skip.NO_UNIT),
    ],
)
def test_entries_that_cannot_be_profiles_are_skipped_with_a_reason(
    attributes: dict[str, str | list[str]], reason: Skip
) -> None:
    assert profile_of(entry(**attributes), {}, SETTINGS) is reason


def test_bad_addresses_and_names_are_left_out_not_the_person() -> None:
    profile = profile_of(entry(mail="kari at hf", mobile="12", displayname="K4ri ☃"), {}, SETTINGS)
    assert not isinstance(profile, Skip)
    assert profile.channels == () and profile.display_name is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nb-NO", Language.NB),
        ("no", Language.NB),
        ("nn", Language.NN),
        ("en-GB", Language.EN),
        ("sv", Language.NB),
        (None, Language.NB),
    ],
)
def test_languages(value: str | None, expected: Language) -> None:
    assert language_of(value) is expected


def test_phone_numbers_get_the_country_code() -> None:
    assert phone_of("912 34 567", "NO") == "+4791234567"
    assert phone_of("+46 70 123 45 67", "NO") == "+46701234567"
    assert phone_of("ring sentralbordet", "NO") is None
