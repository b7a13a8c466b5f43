"""One LDAP entry as a ``StaffProfile``: the attribute mapping, as a pure function.

An entry that cannot become a profile is skipped with a reason code (counted, never
logged with its content); an address that does not validate is left out while the rest
of the person is kept, so one typo in a phone number does not make someone unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError

from connectors.directory.ldap_settings import LdapSettings
from schemas.codes import Channel, Language, Profession, is_code, is_identifier
from schemas.staff import AddressRefused, StaffProfile, address_is_valid, normalize_address

Attributes = Mapping[str, list[str]]
"""An entry's attributes, names in lower case, values decoded."""


class Skip(StrEnum):
    NO_REFERENCE = "no-reference"
    NO_PROFESSION = "no-profession"
    NO_UNIT = "no-unit"
    INVALID = "invalid"


LANGUAGE_ALIASES: Final = {"no": "nb", "nob": "nb", "nno": "nn", "eng": "en"}


def normalize_dn(dn: str) -> str:
    """DNs compare case-insensitively and without spaces around separators."""
    return re.sub(r"\s*([,=])\s*", r"\1", dn.strip()).lower()


def _first(attributes: Attributes, name: str | None) -> str | None:
    if name is None:
        return None
    for value in attributes.get(name.lower(), []):
        if value.strip():
            return value.strip()
    return None


def profession_of(attributes: Attributes, settings: LdapSettings) -> Profession | None:
    groups = {normalize_dn(dn): p for dn, p in settings.profession_groups.items()}
    for group in attributes.get(settings.group_attribute.lower(), []):
        if normalize_dn(group) in groups:
            return groups[normalize_dn(group)]
    value = _first(attributes, settings.profession_attribute)
    if value is not None:
        mapped = {key.casefold(): p for key, p in settings.profession_map.items()}
        if value.casefold() in mapped:
            return mapped[value.casefold()]
        if value.lower() in Profession._value2member_map_:
            return Profession(value.lower())
    return settings.default_profession


def unit_of(attributes: Attributes, settings: LdapSettings) -> str | None:
    value = _first(attributes, settings.unit_attribute)
    if value is None:
        return None
    mapped = {key.casefold(): code for key, code in settings.unit_map.items()}
    if value.casefold() in mapped:
        return mapped[value.casefold()]
    return value if is_code(value) else None


def language_of(value: str | None) -> Language:
    if value is None:
        return Language.NB
    tag = re.split(r"[-_;,\s]", value.strip().lower(), maxsplit=1)[0]
    tag = LANGUAGE_ALIASES.get(tag, tag)
    return Language(tag) if tag in Language._value2member_map_ else Language.NB


def phone_of(value: str | None, region: str | None = None) -> str | None:
    """The number as the contract stores it (E.164), or None when it is not a valid number.
    A national number is read in ``region``, else ``PSB_DIRECTORY_PHONE_REGION``, as in a
    directory file."""
    if value is None:
        return None
    try:
        return normalize_address(Channel.SMS, value, region)
    except AddressRefused:
        return None


def profile_of(
    attributes: Attributes, managers: Mapping[str, str], settings: LdapSettings
) -> StaffProfile | Skip:
    """``managers`` maps every normalized DN in the result to that person's reference."""
    ref = _first(attributes, settings.ref_attribute)
    if ref is None or not is_identifier(ref):
        return Skip.NO_REFERENCE
    profession = profession_of(attributes, settings)
    if profession is None:
        return Skip.NO_PROFESSION
    unit = unit_of(attributes, settings)
    if unit is None:
        return Skip.NO_UNIT
    channels: list[dict[str, str]] = []
    mail = _first(attributes, settings.mail_attribute)
    if mail is not None and address_is_valid(Channel.EMAIL, mail):
        channels.append({"channel": Channel.EMAIL.value, "address": mail})
    mobile = phone_of(_first(attributes, settings.mobile_attribute))
    if mobile is not None:
        channels.append({"channel": Channel.SMS.value, "address": mobile})
    manager_dn = _first(attributes, settings.manager_attribute)
    data: dict[str, Any] = {
        "staff_ref": ref,
        "profession": profession,
        "unit_code": unit,
        "manager_ref": managers.get(normalize_dn(manager_dn)) if manager_dn else None,
        "channels": channels,
        "language": language_of(_first(attributes, settings.language_attribute)),
    }
    name = _first(attributes, settings.name_attribute)
    try:
        return StaffProfile.model_validate({**data, "display_name": name})
    except ValidationError:
        pass
    try:  # a name the contract cannot hold is left out, not the person
        return StaffProfile.model_validate(data)
    except ValidationError:
        return Skip.INVALID
