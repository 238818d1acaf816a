"""Middleware: the client address and user agent for the audit log, the language of each page, and
problem+json for every error under /api/."""

import contextlib
import ipaddress

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers

from .context import RequestContext, current_context, reset_context, set_context
from .problems import API_PREFIX, PROBLEM_CONTENT_TYPE, status_problem


def client_ip(request):
    """The client's address: the socket's, or behind ONECARD_TRUSTED_PROXIES reverse proxies the one they saw.

    Each proxy appends to X-Forwarded-For the address it was called from, so with N proxies the client is
    the N-th entry from the right; anything further left is what the client itself wrote, and trusting it
    would let anyone forge the address of the audit log and slip past the per-address log-in lock-out.
    """
    proxies = getattr(settings, "ONECARD_TRUSTED_PROXIES", 0)
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            try:
                return str(ipaddress.ip_address(hops[-proxies]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")


def request_context(request):
    """The audit context (address, user agent) of one request."""
    return RequestContext(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:255])


@contextlib.contextmanager
def audit_context_of(request):
    """Inside the block the audit log sees `request`'s address, also outside RequestContextMiddleware.

    Signal receivers use it: a test client's force_login, or an authenticate() from code that runs before
    the middleware, still record where the request came from.
    """
    token = None
    if request is not None and current_context().ip is None:
        token = set_context(request_context(request))
    try:
        yield
    finally:
        if token is not None:
            reset_context(token)


class RequestContextMiddleware:
    """Sets the audit context (IP, user agent) for the duration of one request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_context(request_context(request))
        try:
            return self.get_response(request)
        finally:
            reset_context(token)


def page_language(request):
    """The language of a page: the person's setting, else the choice made on this browser, else the default.

    The browser's Accept-Language is not asked: a shop's PC set up in English still shows Chinese
    unless its user chose English. The API (machine clients) keeps Accept-Language, as documented.
    """
    if request.path_info.startswith("/api/"):
        return translation.get_language_from_request(request)
    user = getattr(request, "user", None)
    chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
    if not chosen:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if not chosen and settings.ONECARD_PAGES_FOLLOW_ACCEPT_LANGUAGE:
        return translation.get_language_from_request(request)
    try:
        return translation.get_supported_language_variant(chosen) if chosen else settings.LANGUAGE_CODE
    except LookupError:
        return settings.LANGUAGE_CODE


class LanguageMiddleware:
    """Activates `page_language` for the request (in place of Django's LocaleMiddleware); after auth."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = page_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Cookie",))
        return response


_JSON_TYPES = ("application/json", PROBLEM_CONTENT_TYPE)


class ApiProblemMiddleware:
    """Under /api/, an error Django answers by itself (no such route, a server error) is problem+json too.

    The API's views answer their own errors as problem+json (`problems.problem_exception_handler`), and so
    do the project's handler404/handler500 under /api/ (`api_views`: no route, a malformed id, an exception
    no view handled, which Django logs first). This is the last resort for any other error page an inner
    middleware answers by itself (a CSRF refusal, a 405 of a plain Django view).
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
