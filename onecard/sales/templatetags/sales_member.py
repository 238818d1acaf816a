"""Data of the member 360 page's purchases section: the member's sales with their lines, a page at a time."""

from django import template
from django.core.paginator import Paginator

from onecard.core.money import fen_to_yuan_str
from onecard.sales.queries import member_sales

register = template.Library()

PER_PAGE = 10


@register.simple_tag
def member_purchases(member, page_number=None):
    """Page `page_number` (?purchases=) of the member's sales, newest first, each with its lines."""
    page = Paginator(member_sales(member), PER_PAGE).get_page(page_number)
    rows = [
        {
            "sale": sale,
            "due": fen_to_yuan_str(sale.total_due),
            "returned": fen_to_yuan_str(sale.returned_due),
            "lines": [{"line": line, "due": fen_to_yuan_str(line.due)} for line in sale.lines.all()],
        }
        for sale in page.object_list
    ]
    return {"page": page, "rows": rows}
