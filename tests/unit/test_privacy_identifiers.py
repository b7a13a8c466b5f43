"""Plant real-shaped identifiers (national identity numbers, D- and H-numbers, e-mail
addresses, phone numbers, names joined to look like codes, free text) in every field the
boundary reads, of native, FHIR R4 and FHIR R5 reports, and follow everything that comes
out (see :mod:`tests.unit.test_privacy_markers` for the harness). Each value must become an
allowed code, a keyed pseudonym, or be dropped: none may come out in clear.

The integration tests plant the same values through the command line, the ingest server and
the worker (``tests/integration/test_privacy_identifiers.py``).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Reason
from schemas.boundary import Vocabulary, project
from schemas.boundary.identifying import identifying_reason, is_national_identity_number
from tests.support.identifiers import (
    FORMATS,
    Planted,
    emails,
    joined_names,
    national_identity_numbers,
    phone_numbers,
    planted_reports,
)
from tests.unit.helpers import KEY, RECEIVED_AT, native_report
from tests.unit.test_privacy_markers import everything_that_comes_out

PROPERTY = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)


@PROPERTY
@given(st.sampled_from(sorted(FORMATS)).flatmap(planted_reports))
def test_no_identifier_comes_out_in_clear(planted: Planted) -> None:
    output = everything_that_comes_out(planted.document)
    assert not planted.leaks(output), planted.values


@PROPERTY
@given(st.sampled_from(sorted(FORMATS)).flatmap(planted_reports))
def test_not_even_when_the_policy_declares_it_as_a_code(planted: Planted) -> None:
    """Belt and braces: a local code list that holds an identifier does not let it through
    (the policy check refuses such a list; this is the boundary's own refusal)."""
    careless = Vocabulary.of(sources=set(planted.values), directory_units=set(planted.values))
    careless = Vocabulary(
        categories=set(planted.values), units=careless.units, sources=careless.sources
    )
    output = everything_that_comes_out(planted.document, careless)
    leaked = [
        value
        for value in planted.values
        if identifying_reason(value) is not None and value in output
    ]
    assert not leaked


@settings(max_examples=200, deadline=None)
@given(national_identity_numbers())
def test_national_identity_numbers_are_recognised(number: str) -> None:
    assert is_national_identity_number(number)
    assert identifying_reason(number) is Reason.NATIONAL_IDENTITY_NUMBER
    assert identifying_reason(f"SYN-{number[:6]}-{number[6:]}") is Reason.NATIONAL_IDENTITY_NUMBER


@settings(max_examples=100, deadline=None)
@given(phone_numbers())
def test_phone_numbers_are_recognised(number: str) -> None:
    assert identifying_reason(number) is Reason.PHONE_NUMBER


@settings(max_examples=50, deadline=None)
@given(emails())
def test_email_addresses_are_recognised(address: str) -> None:
    assert identifying_reason(address) is Reason.EMAIL_ADDRESS


@pytest.mark.parametrize(
    "code",
    [
        "MED-3",
        "wrong-dose",
        "medication-mishap",
        "K-1234",
        "419099009",  # SNOMED CT codes are not phone numbers
        "2026-11-20",
        "avvik-hf",
        "01019012345",  # eleven digits that fail the check digits
    ],
)
def test_ordinary_codes_are_not_taken_for_identifiers(code: str) -> None:
    assert identifying_reason(code) is None


@settings(max_examples=50, deadline=None)
@given(st.one_of(national_identity_numbers(), phone_numbers(), emails(), joined_names()))
def test_a_dropped_value_is_counted_by_field_and_reason_never_copied(value: str) -> None:
    vocabulary = Vocabulary.of(sources={"avvik-test"}, directory_units={value})
    projection = project(native_report(unit_code=value), KEY, vocabulary, received_at=RECEIVED_AT)
    assert projection.signal.unit_code in (None, value)
    if projection.signal.unit_code is None:
        assert [drop.field.value for drop in projection.dropped] == ["unit_code"]
        assert value not in str(projection.dropped)
    else:  # a joined name someone's directory entry really has as its unit
        assert identifying_reason(value) is None


def test_the_check_would_see_a_leak() -> None:
    """The harness itself: a joined name that someone's directory entry has as its unit
    passes as that unit, and the check finds it."""
    planted = Planted(native_report(unit_code="Kari_NordmannMrkabcdefgh"))
    planted.values.append("Kari_NordmannMrkabcdefgh")
    assert not planted.leaks(everything_that_comes_out(planted.document))
    declared = Vocabulary.of(sources={"avvik-test"}, directory_units=set(planted.values))
    assert planted.leaks(everything_that_comes_out(planted.document, declared))
