"""Money is an integer number of fen everywhere; these helpers only format and parse it."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# The largest amount one posting may carry: 100 billion yuan, far above any real card and far below
# what a 64-bit column holds, so a typo of many zeros is refused instead of stored.
MAX_AMOUNT = 10**13


def fen_to_yuan_str(fen: int) -> str:
    """1999 → '19.99'; -5 → '-0.05'."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def yuan_str_to_fen(text: str) -> int:
    """'19.99' → 1999; more than two decimals is refused rather than rounded silently."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite():  # "Infinity" and "NaN" parse as Decimals but are no amount
        raise ValueError("not a number")
    fen = value * 100
    if fen != fen.to_integral_value(rounding=ROUND_HALF_UP):
        raise ValueError("more than two decimals")
    return int(fen)
