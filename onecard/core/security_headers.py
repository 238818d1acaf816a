"""Content-Security-Policy and Permissions-Policy on every answer (Django's SecurityMiddleware and
XFrameOptionsMiddleware set X-Content-Type-Options, Referrer-Policy and X-Frame-Options).

The policy is `settings.SECURE_CSP`, a dict of directive → sources in the shape of Django 6.0's own
setting, so moving to Django's built-in middleware later changes no policy. Scripts run only from our
own static files: no inline script, no inline event handler, no eval (docs/operations.md, Security headers).
"""

from django.conf import settings

CSP_HEADER = "Content-Security-Policy"
PERMISSIONS_HEADER = "Permissions-Policy"


def content_security_policy(extra=None):
    """The header value of `settings.SECURE_CSP`, with `extra` sources added per directive (for one view)."""
    directives = {name: list(sources) for name, sources in settings.SECURE_CSP.items()}
    for name, sources in (extra or {}).items():
        known = directives.setdefault(name, [])
        known.extend(source for source in sources if source not in known)
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def permissions_policy():
    """The header value of `settings.ONECARD_PERMISSIONS_POLICY`: feature → allowed origins (empty: nobody)."""
    return ", ".join(
        f"{feature}=({' '.join(origins)})" for feature, origins in settings.ONECARD_PERMISSIONS_POLICY.items()
    )


class SecurityHeadersMiddleware:
    """Adds the policy headers to every answer that has none of its own (pages, API, static files, errors).

    A view that needs more (the API's Redoc page runs its search in a blob: worker) sets its own header
    with `content_security_policy(extra)`; this middleware leaves such a header alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # Built once per process: the settings do not change while it runs.
        self.csp = content_security_policy()
        self.permissions = permissions_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault(CSP_HEADER, self.csp)
        response.headers.setdefault(PERMISSIONS_HEADER, self.permissions)
        return response
