"""Middleware that records the client address and user agent for the audit log."""

from django.conf import settings

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
