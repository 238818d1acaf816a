"""Card numbers: prefix + zero-padded serial + a Luhn check digit (the scheme of bank cards).

The check digit catches every single mistyped digit and most swapped neighbours, so the till
refuses a typo as `card_not_found` without a database lookup.
"""

import re

MAX_NUMBER_LENGTH = 19  # ISO/IEC 7812; keyboard-wedge readers and barcode fonts cope with it
_NOT_DIGITS = re.compile(r"[\s-]+")


def luhn_check_digit(digits: str) -> str:
    """The digit that makes `digits` + it pass the Luhn check."""
    total = 0
    # From the right, starting with the digit that will sit next to the check digit: double it.
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_number(number: str) -> bool:
    """True for a string of digits whose last digit is its Luhn check digit."""
    return (
        2 <= len(number) <= MAX_NUMBER_LENGTH
        and number.isdigit()
        and luhn_check_digit(number[:-1]) == number[-1]
    )


def normalize_number(text: str) -> str:
    """What was typed or scanned, without spaces and dashes ("6210 0000 0001 7" → "62100000000017")."""
    return _NOT_DIGITS.sub("", text or "")


def card_number(prefix: str, serial: int, width: int) -> str:
    body = f"{prefix}{serial:0{width}d}"
    return body + luhn_check_digit(body)


def batch_numbers(prefix: str, start: int, count: int, width: int) -> list[str]:
    """The numbers of a batch, in serial order."""
    return [card_number(prefix, serial, width) for serial in range(start, start + count)]


def range_problem(prefix: str, start: int, count: int, width: int) -> str:
    """Why this range cannot be issued, or "" when it can."""
    if not prefix.isdigit() or len(prefix) > 10:
        return "the prefix is 1 to 10 digits"
    if not 4 <= width <= 12:
        return "the serial has 4 to 12 digits"
    if start < 0 or count <= 0:
        return "the first serial is 0 or more and the count at least 1"
    if start + count - 1 >= 10**width:
        return f"serials of {width} digits end at {10**width - 1}"
    if len(prefix) + width + 1 > MAX_NUMBER_LENGTH:
        return f"numbers are at most {MAX_NUMBER_LENGTH} digits long"
    return ""
