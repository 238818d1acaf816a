"""API pages served by core: Redoc from our own static files; the error handlers that answer the API in JSON."""

import functools
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.urls import reverse
from django.views import defaults
from drf_spectacular.views import SpectacularRedocView

from .problems import API_PREFIX, status_problem
from .security_headers import CSP_HEADER, content_security_policy

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
# Redoc's menu shows its vendor's logo from the vendor's CDN. Stores run on intranets and the policy lets no
# page load images from elsewhere, so the bundle we serve shows an empty image instead.
REDOCLY_LOGO = 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"'
EMPTY_IMAGE = 'src:"data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E"'


class RedocView(SpectacularRedocView):
    """Redoc from the sidecar's static files, without the Google Fonts links of the stock template.

    Its search runs in a worker that Redoc makes from a blob: URL, which this page's policy allows.
    """

    template_name = "core/api_redoc.html"

    @staticmethod
    def _redoc_standalone():
        return reverse("api-redoc-bundle")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response[CSP_HEADER] = content_security_policy({"worker-src": ["'self'", "blob:"]})
        return response


@functools.cache
def _redoc_bundle() -> bytes:
    text = Path(finders.find(REDOC_BUNDLE)).read_text(encoding="utf-8")
    return text.replace(REDOCLY_LOGO, EMPTY_IMAGE).encode()


def redoc_bundle(request):
    """Redoc's standalone script from the sidecar, its vendor logo swapped for an empty image (read once)."""
    response = HttpResponse(_redoc_bundle(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def page_not_found(request, exception=None):
    """handler404: problem+json under /api/ (no route, a malformed id), the app's 404 page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return status_problem(404, request.path)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: problem+json under /api/ (Django has logged the exception), the app's 500 page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return status_problem(500, request.path)
    return defaults.server_error(request)
