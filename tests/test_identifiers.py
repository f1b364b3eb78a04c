"""French identifiers are validated with their check digits, and phones stored in E.164."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.identifiers import (
    luhn_check_digit,
    luhn_is_valid,
    nir_key,
    normalise_phone,
    validate_am_number,
    validate_nir,
    validate_rpps,
)

payloads = st.text(alphabet="0123456789", min_size=1, max_size=20)


@given(payloads)
def test_the_check_digit_completes_any_payload(payload):
    assert luhn_is_valid(payload + luhn_check_digit(payload))


@given(payloads, st.data())
def test_changing_any_single_digit_breaks_the_check(payload, data):
    number = payload + luhn_check_digit(payload)
    position = data.draw(st.integers(0, len(number) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not luhn_is_valid(number[:position] + replacement + number[position + 1 :])


def test_the_fictitious_isolation_prescriber_number_is_a_valid_am_number():
    assert validate_am_number("2 91 99 119 8") == "291991198"


def test_a_valid_rpps_is_accepted_with_or_without_spaces():
    number = "1000123456" + luhn_check_digit("1000123456")
    assert validate_rpps(f"{number[:4]} {number[4:]}") == number


def test_a_bad_rpps_is_refused_with_a_clear_reason():
    number = "1000123456" + luhn_check_digit("1000123456")
    wrong_key = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(ValueError, match="11 chiffres"):
        validate_rpps(number[:-1])
    with pytest.raises(ValueError, match="11 chiffres"):
        validate_rpps(number[:-1] + "a")
    with pytest.raises(ValueError, match="clé de contrôle"):
        validate_rpps(wrong_key)


def test_a_bad_am_number_is_refused():
    with pytest.raises(ValueError, match="9 chiffres"):
        validate_am_number("29199119")
    with pytest.raises(ValueError, match="clé de contrôle"):
        validate_am_number("291991197")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("01.45.67.89.01", "+33145678901"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("0690 12 34 56", "+590690123456"),
        ("0262 12 34 56", "+262262123456"),
        ("0696 12 34 56", "+596696123456"),
    ],
)
def test_french_phone_numbers_are_stored_in_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "06123456789", "+4412345678", "0012", "abc", ""])
def test_a_phone_number_that_is_not_french_is_refused(raw):
    with pytest.raises(ValueError):
        normalise_phone(raw)


nir_bodies = st.builds(
    lambda sex, year, month, department, rest: f"{sex}{year:02d}{month:02d}{department}{rest:06d}",
    st.sampled_from("1278"),
    st.integers(0, 99),
    st.integers(1, 12),
    st.sampled_from(["09", "75", "2A", "2B", "97", "13"]),
    st.integers(0, 999_999),
)


@given(nir_bodies)
def test_a_nir_with_its_key_is_valid_and_any_other_key_is_not(body):
    key = nir_key(body)
    assert validate_nir(body + key) == body + key
    wrong = f"{(int(key) % 97) + 1:02d}"
    with pytest.raises(ValueError, match="clé de contrôle"):
        validate_nir(body + wrong)


def test_corsican_nirs_count_2a_as_19_and_2b_as_18():
    body = "185052A004123"
    expected = 97 - int("1850519004123") % 97
    assert validate_nir(f"{body}{expected:02d}") == f"{body}{expected:02d}"
    assert nir_key("285052B004123") == f"{97 - int('2850518004123') % 97:02d}"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("18505", "15 caractères"),
        ("9850575123456 12", "mal formé"),
        ("1850575123456AB", "mal formé"),
    ],
)
def test_a_malformed_nir_is_refused_with_a_reason(value, words):
    with pytest.raises(ValueError, match=words):
        validate_nir(value)
