"""Record ids as they arrive in URLs, query strings and bodies: ASCII digits within a database id.

`str.isdigit()` is true for "²" and "٣", which `int()` refuses or reads as another number, and a
number past the 64-bit column makes the database driver overflow. Every place an id comes in from
outside reads it here, so such input is "no such record", never a server error.
"""

import re

from django.http import Http404

MAX_ID = 2**63 - 1  # a BigAutoField column
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value) -> int | None:
    """The id in `value` (an int, or a string of ASCII digits around which blanks are ignored), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def id_or_404(value) -> int:
    """The id in `value`, or Http404 (a malformed id names no record)."""
    number = parse_id(value)
    if number is None:
        raise Http404
    return number
