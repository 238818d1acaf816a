"""Middleware: the client address and user agent for the audit log; the language of each page."""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers

from .context import RequestContext, reset_context, set_context


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
