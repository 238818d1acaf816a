"""Code 128 as inline SVG: known patterns, the check symbol, and the SVG read back by a decoder."""

import pytest

from onecard.loyalty.cards.barcodes import (
    CODE_B,
    PATTERNS,
    START_B,
    START_C,
    STOP,
    code128_svg,
    code128_values,
    code128_widths,
    qr_svg,
)
from onecard.loyalty.cards.numbers import card_number
from onecard.testing.barcodes import decode_svg


def test_every_pattern_has_eleven_modules_and_is_unique():
    # given / when / then
    assert len(PATTERNS) == 107 and len(set(PATTERNS)) == 107
    assert all(sum(int(c) for c in p) == 11 for p in PATTERNS[:STOP])
    assert sum(int(c) for c in PATTERNS[STOP]) == 13


def test_digits_use_code_set_c_with_the_known_pattern():
    # given "1234": start C (105), 12, 34, check (105 + 12 + 2×34) mod 103 = 82, stop
    # when
    values = code128_values("1234")
    # then
    assert values == [START_C, 12, 34, 82, STOP]
    assert code128_widths("1234") == "211232" + "112232" + "131123" + "121241" + "2331112"


def test_odd_digit_count_ends_in_code_set_b():
    # given "12345": start C, 12, 34, Code B, "5" (53 − 32 = 21), check 569 mod 103 = 54
    assert code128_values("12345") == [START_C, 12, 34, CODE_B, 21, 54, STOP]


def test_text_uses_code_set_b():
    # given "Ab1": start B, 33, 66, 17, check (104 + 33 + 132 + 51) mod 103 = 11
    assert code128_values("Ab1") == [START_B, 33, 66, 17, 11, STOP]


@pytest.mark.parametrize("text", [card_number("8800", 1, 8), card_number("62", 12345, 8), "12345", "Ab1-x"])
def test_svg_decodes_back_to_the_text(text):
    # given / when
    svg = code128_svg(text)
    # then
    assert svg.startswith("<svg") and 'aria-label="' + text + '"' in svg
    assert decode_svg(svg) == text


@pytest.mark.parametrize("text", ["", "中文", "tab\t"])
def test_unencodable_text_is_refused(text):
    with pytest.raises(ValueError):
        code128_values(text)


def test_qr_svg_is_an_inline_svg_of_a_version_1_code_for_a_card_number():
    # given a 12-digit card number; when
    svg = qr_svg("880000000017")
    # then: inline SVG without fixed size, 21 modules + 2×2 quiet zone = 25 wide
    assert svg.startswith("<svg") and 'viewBox="0 0 25 25"' in svg and "width=" not in svg.split(">")[0]
