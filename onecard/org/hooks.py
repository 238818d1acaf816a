"""The organisation's receivers: a log-in starts a tracked session that still owes its second step; a
log-out ends it."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from onecard.core.middleware import client_ip

from . import second_factor, staff_sessions


@receiver(user_logged_in, dispatch_uid="onecard.org.start_staff_session")
def start_staff_session(sender, request, user, **kwargs):
    """Every log-in (the form, or a test's force_login) is a new StaffSession; the second step is owed anew."""
    if request is None or not hasattr(request, "session"):
        return
    request.session.pop(second_factor.SESSION_FLAG, None)
    if request.session.session_key is None:
        request.session.save()
    staff_sessions.start(
        user,
        request.session.session_key,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


@receiver(user_logged_out, dispatch_uid="onecard.org.end_staff_session")
def end_staff_session(sender, request, user, **kwargs):
    """Logging out forgets the session's row (Django sends this before it empties the session)."""
    if request is not None and hasattr(request, "session") and request.session.session_key:
        staff_sessions.logged_out(request.session.session_key)
