"""Coupon codes: alphabet, check character, normalisation, and uniqueness under collisions."""

import pytest

from onecard.promotions import coupon_codes, coupons
from onecard.promotions.coupon_codes import (
    ALPHABET,
    LENGTH,
    display_code,
    new_code,
    normalize_code,
    validate_code,
)
from onecard.promotions.coupon_errors import CouponCodeInvalid
from onecard.promotions.models import Coupon
from onecard.testing.coupons import make_template


def test_a_new_code_has_sixteen_unambiguous_characters_and_a_valid_check_character():
    codes = {new_code() for _ in range(2000)}
    # then: no repeats, only the alphabet (no 0, O, 1, I), and every code validates
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == LENGTH
        assert set(code) <= set(ALPHABET)
        assert validate_code(code) == code
    assert not set("0O1I") & set(ALPHABET)


def test_every_single_mistyped_character_is_caught():
    code = new_code()
    for position in range(LENGTH):
        for char in ALPHABET:
            if char == code[position]:
                continue
            typo = code[:position] + char + code[position + 1 :]
            with pytest.raises(CouponCodeInvalid):
                validate_code(typo)


def test_swapping_two_neighbouring_characters_is_caught():
    code = "23456789ABCDEFG"
    code += coupon_codes.check_character(code)
    for i in range(LENGTH - 1):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            with pytest.raises(CouponCodeInvalid) as info:
                validate_code(swapped)
            assert info.value.code == "coupon_code_invalid"


def test_normalize_drops_spaces_and_dashes_and_upper_cases():
    code = new_code()
    printed = display_code(code)
    assert printed.count("-") == 3
    assert normalize_code(printed) == code
    assert normalize_code(f"  {printed.lower().replace('-', ' ')} ") == code
    assert validate_code(printed.lower()) == code


@pytest.mark.parametrize("text", ["", "ABC", "0" * 16, "I" * 16, "23456789ABCDEFGHJ"])
def test_malformed_codes_are_refused_before_any_lookup(db, text, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(CouponCodeInvalid):
        validate_code(text)


def test_a_code_collision_is_retried_with_a_fresh_code(chain, member_factory, monkeypatch):
    # given: one coupon already holds a code, and the generator returns that code once more
    template = make_template(chain)
    first = coupons.issue_by_hand(None, template, member_factory())
    queue = [first.code, new_code()]
    monkeypatch.setattr(coupons, "new_code", lambda: queue.pop(0))
    # when another coupon is issued
    second = coupons.issue_by_hand(None, template, member_factory())
    # then: the collision was retried, both coupons exist with different codes
    assert second.code != first.code
    assert Coupon.objects.count() == 2
