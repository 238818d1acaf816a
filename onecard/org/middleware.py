"""Who may use a logged-in web session: its idle and absolute limits, and the second step of the log-in.

Both come after Django's authentication and messages middleware (settings.MIDDLEWARE). Requests with an
API token carry no session and are not concerned; API requests with a session get problem+json.
"""

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from onecard.core.problems import API_PREFIX, PROBLEM_CONTENT_TYPE, problem_body

from . import second_factor, staff_sessions

_SESSION_OVER = {
    "idle": lambda: _("You were away too long, so you were logged out. Please log in again."),
    "lifetime": lambda: _("Your session reached its time limit. Please log in again."),
    "ended": lambda: _("This session was ended. Please log in again."),
}


def _go(request, url):
    """A redirect that htmx follows as a whole page (HX-Redirect), not inside the swapped fragment."""
    # The header itself: django-htmx's middleware (request.htmx) runs after this one.
    if request.headers.get("HX-Request") == "true":
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _api_problem(request, status, code, detail):
    # A plain JsonResponse: no DRF view has run, so there is no renderer for a DRF Response.
    return JsonResponse(
        problem_body(status, code, detail, instance=request.path),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def _forget_login(request):
    """Log the browser out of a session that is over, without Django's `logout`.

    The end is audited already (session_end, with its reason, by staff_sessions.end or when it was revoked);
    `logout` would send user_logged_out, and core.signals would add a log-out the person never did.
    """
    request.session.flush()
    request.user = AnonymousUser()


def _with_next(url, request):
    # Back to a page asked for with GET; an htmx request names a fragment, not a page to come back to.
    if request.method == "GET" and request.headers.get("HX-Request") != "true":
        return f"{url}?{urlencode({'next': request.get_full_path()})}"
    return url


class SessionLimitMiddleware:
    """Logs out a session that is past its idle or absolute limit or was revoked (its StaffSession is gone)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = timezone.now()
            session = staff_sessions.find(request.session.session_key)
            reason = "ended" if session is None else staff_sessions.why_over(session, now)
            if reason is not None:
                if session is not None:
                    staff_sessions.end(None, session, reason)
                if request.path in (reverse("login"), reverse("logout")):
                    _forget_login(request)  # the log-in form (or log-out) itself goes on, for nobody
                    return self.get_response(request)
                return self._refuse(request, reason)
            staff_sessions.seen(session, now)
            request.staff_session = session
        return self.get_response(request)

    def _refuse(self, request, reason):
        _forget_login(request)
        message = _SESSION_OVER[reason]()
        if request.path.startswith(API_PREFIX):
            return _api_problem(request, 401, "session_expired", message)
        messages.warning(request, message)
        return _go(request, _with_next(reverse("login"), request))


# The pages a session that owes its second step may open.
_OPEN_WHILE_PENDING = {"second_factor_verify", "second_factor_enrol", "logout", "login", "set_language"}


class SecondFactorMiddleware:
    """Sends a logged-in session that owes the second step to it, or to enrolment if there is no authenticator.

    The session's flag (second_factor.mark_verified) is set at the second step, at enrolment, and at once
    for people who need no second step, so a finished log-in costs no query here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or second_factor.is_verified(request.session, user):
            return None
        if not second_factor.needs_second_step(user):
            second_factor.mark_verified(request.session, user)
            return None
        match = request.resolver_match
        if match is not None and match.view_name in _OPEN_WHILE_PENDING:
            return None
        enrolled = second_factor.confirmed_factor(user) is not None
        if request.path.startswith(API_PREFIX):
            return _api_problem(
                request,
                403,
                "second_factor_required",
                _("Finish logging in with your two-step verification code first."),
            )
        target = reverse("second_factor_verify" if enrolled else "second_factor_enrol")
        return _go(request, _with_next(target, request))
