"""Middleware: the client address and user agent for the audit log; problem+json for every error under /api/."""

from django.conf import settings

from .context import RequestContext, reset_context, set_context
from .problems import PROBLEM_CONTENT_TYPE, status_problem


def client_ip(request):
    # Behind a proxy the deployment sets ONECARD_TRUST_X_FORWARDED_FOR; by default the socket address is used
    # so that a client cannot forge the address written into the audit log.
    if getattr(settings, "ONECARD_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    """Sets the audit context (IP, user agent) for the duration of one request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_context(
            RequestContext(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:255])
        )
        try:
            return self.get_response(request)
        finally:
            reset_context(token)


API_PREFIX = "/api/"
_JSON_TYPES = ("application/json", PROBLEM_CONTENT_TYPE)


class ApiProblemMiddleware:
    """Under /api/, an error Django answers by itself (no such route, a server error) is problem+json too.

    The API's views answer their own errors as problem+json (`problems.problem_exception_handler`); this is
    the last resort for what never reaches one: a URL no route matches (a malformed id) and an exception
    the view did not handle, which Django has already logged with its traceback before it gets here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith(_JSON_TYPES)
        ):
            problem = status_problem(response.status_code, request.path)
            for header in ("Allow", "WWW-Authenticate", "Retry-After"):
                if header in response:
                    problem[header] = response[header]
            return problem
        return response
