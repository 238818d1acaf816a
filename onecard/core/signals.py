"""Audit rows for events that no OneCard service performs: logging in and out of the web pages."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import audit
from .middleware import audit_context_of


@receiver(user_logged_in, dispatch_uid="onecard.core.audit_login")
def audit_login(sender, request, user, **kwargs):
    """Every login is an audit row with the client's address (the password is never part of it).

    A log-in other than by password (the till's PIN or staff card) names its method on the request.
    """
    with audit_context_of(request):
        audit.record(user, "login", user, note=getattr(request, "login_method", ""))


@receiver(user_logged_out, dispatch_uid="onecard.core.audit_logout")
def audit_logout(sender, request, user, **kwargs):
    """Every logout of a logged-in person is an audit row with the address and browser."""
    if user is None or not user.is_authenticated:
        return  # logging out without being logged in ends nothing
    with audit_context_of(request):
        audit.record(user, "logout", user)
