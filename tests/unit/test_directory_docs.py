"""The directory page's examples work as written: the CSV files load without a refused
row, and the LDAP settings are valid and map an Active Directory user as described."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from connectors.directory.ldap_mapping import profile_of
from connectors.directory.ldap_settings import LdapSettings
from connectors.directory.load import Kind, validate_text
from connectors.directory.rows import STAFF_COLUMNS, SUPPORTER_COLUMNS
from schemas import Channel, Profession

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "directory.md").read_text(encoding="utf-8")


def example(name: str) -> str:
    block = PAGE.split(f"<!-- example-{name}:start -->", 1)[1].split(f"<!-- example-{name}:end")
    return block[0].strip().split("\n", 1)[1].rsplit("```", 1)[0]


@pytest.mark.parametrize(
    ("name", "kind"), [("staff-csv", Kind.STAFF), ("supporters-csv", Kind.SUPPORTERS)]
)
def test_the_csv_examples_load_without_refusals(name: str, kind: Kind) -> None:
    result = validate_text(example(name), ".csv", kind)
    assert result.errors == []
    assert len(result.entries) == result.lines >= 2


def test_every_csv_column_is_documented() -> None:
    for column in (*STAFF_COLUMNS, *SUPPORTER_COLUMNS):
        assert f"`{column}`" in PAGE, column


def test_the_ldap_example_is_valid_and_maps_an_ad_user(monkeypatch: pytest.MonkeyPatch) -> None:
    for line in example("ldap-env").splitlines():
        name, _, value = line.partition("=")
        monkeypatch.setenv(name, shlex.split(value)[0])
    settings = LdapSettings()
    assert settings.missing() == []
    profile = profile_of(
        {
            "samaccountname": ["kno01"],
            "title": ["sykepleier"],
            "department": ["Medisinsk sengepost 3"],
            "mail": ["kari.nordmann@helseforetak.example"],
            "mobile": ["912 34 567"],
        },
        {},
        settings,
    )
    assert not isinstance(profile, str)
    assert (profile.profession, profile.unit_code) == (Profession.NURSE, "MED-3")
    assert [point.channel for point in profile.channels] == [Channel.EMAIL, Channel.SMS]
