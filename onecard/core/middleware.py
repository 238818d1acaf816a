"""Middleware: the client address and user agent for the audit log, the language of each page, and
problem+json for every error under /api/."""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers

from .context import RequestContext, reset_context, set_context
from .problems import API_PREFIX, PROBLEM_CONTENT_TYPE, status_problem


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
