"""Pagination of the back-office lists: the page a request asks for, and the links that keep its filters."""

from django.core.paginator import Paginator


def page_of(request, rows, per_page):
    """The page of `rows` that ?page= asks for (the first on a bad number, the last past the end)."""
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def filters_query(params) -> str:
    """The list's filters as a query string without the page number, for the pagination links."""
    query = params.copy()
    query.pop("page", None)
    return query.urlencode()
