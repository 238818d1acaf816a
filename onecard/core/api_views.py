"""API pages served by core: Redoc from our own static files."""

from drf_spectacular.views import SpectacularRedocView


class RedocView(SpectacularRedocView):
    """Redoc from the sidecar's static files, without the Google Fonts links of the stock template."""

    template_name = "core/api_redoc.html"
