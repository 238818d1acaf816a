"""API pages served by core: Redoc from our own static files; the error handlers that answer the API in JSON."""

from django.views import defaults
from drf_spectacular.views import SpectacularRedocView

from .problems import API_PREFIX, status_problem


class RedocView(SpectacularRedocView):
    """Redoc from the sidecar's static files, without the Google Fonts links of the stock template."""

    template_name = "core/api_redoc.html"


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
