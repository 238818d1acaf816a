"""Looking one record up within what the user may reach: out of scope looks exactly like missing."""

from django.http import Http404


def first_or_404(queryset, message=None):
    """The first record of `queryset` (already narrowed to the user's scope and the id), or Http404 with `message`."""
    found = queryset.first()
    if found is None:
        # A bare Http404 when no message is given: the 404 page then says no more than before.
        raise Http404 if message is None else Http404(message)
    return found
