"""A page's service call whose outcome is told to the user as a flash message on the next page."""

from django.contrib import messages

from .errors import BusinessError


def call_and_flash(request, action, success_message):
    """Call `action()`: a refusal becomes an error message, else `success_message`; its result (None if refused)."""
    try:
        result = action()
    except BusinessError as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, success_message)
    return result
