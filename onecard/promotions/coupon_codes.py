"""Coupon codes: 16 characters a cashier can read aloud, scan as Code 128 or QR, and type without ambiguity.

The alphabet leaves out 0/O and 1/I (32 symbols). Fifteen characters come from `secrets` (75 bits, so
guessing a valid code is hopeless); the sixteenth is a Luhn mod 32 check character, which catches every
single mistyped character and every swap of two neighbours, so a typo is refused before any database
lookup (`coupon_code_invalid`). Uniqueness is the database's unique constraint; the issuer retries on
the (astronomically rare) collision.
"""

import secrets

from .coupon_errors import CouponCodeInvalid

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
BASE = len(ALPHABET)
LENGTH = 16
_INDEX = {char: i for i, char in enumerate(ALPHABET)}


def _luhn_sum(text: str, start_factor: int) -> int:
    factor, total = start_factor, 0
    for char in reversed(text):
        addend = factor * _INDEX[char]
        total += addend // BASE + addend % BASE
        factor = 1 if factor == 2 else 2
    return total


def check_character(payload: str) -> str:
    """The Luhn mod 32 check character of the 15-character `payload`."""
    return ALPHABET[(BASE - _luhn_sum(payload, 2) % BASE) % BASE]


def new_code() -> str:
    """A fresh random code (not yet known to be unused: the database constraint decides)."""
    payload = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 1))
    return payload + check_character(payload)


def normalize_code(text) -> str:
    """The code as stored: spaces and dashes dropped, upper case ("abcd-efgh 2345 6789" → "ABCDEFGH23456789")."""
    return "".join(str(text or "").split()).replace("-", "").replace("–", "").upper()


def is_well_formed(code: str) -> bool:
    """True when a normalised code has the right length, alphabet and check character."""
    return len(code) == LENGTH and all(char in _INDEX for char in code) and _luhn_sum(code, 1) % BASE == 0


def validate_code(text) -> str:
    """The normalised code, or `coupon_code_invalid` when it cannot be one of ours (no database lookup)."""
    code = normalize_code(text)
    if not is_well_formed(code):
        raise CouponCodeInvalid(extra={"coupon": code[:40]})
    return code


def display_code(code: str) -> str:
    """The code in groups of four for print and screen ("ABCD-EFGH-2345-6789"); `normalize_code` undoes it."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
