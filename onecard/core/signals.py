"""Audit rows for events that no OneCard service performs: logging in."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import audit
from .context import RequestContext, current_context, reset_context, set_context
from .middleware import client_ip


@receiver(user_logged_in, dispatch_uid="onecard.core.audit_login")
def audit_login(sender, request, user, **kwargs):
    """Every login is an audit row with the client's address (the password is never part of it)."""
    token = None
    if request is not None and current_context().ip is None:
        # Outside RequestContextMiddleware (e.g. a test client's force_login) take the address here.
        token = set_context(
            RequestContext(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:255])
        )
    try:
        audit.record(user, "login", user)
    finally:
        if token is not None:
            reset_context(token)
