"""{{ fen|yuan }}: an amount in fen shown as yuan with two decimals."""

from django import template

from onecard.core.money import fen_to_yuan_str

register = template.Library()


@register.filter
def yuan(fen):
    """12345 → "123.45"; None → "0.00"."""
    return fen_to_yuan_str(fen or 0)
