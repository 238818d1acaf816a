from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PosConfig(AppConfig):
    """The terminal API: registered terminals, signed requests, and the POS endpoints."""

    name = "onecard.pos"
    label = "pos"
    verbose_name = _("Terminals and POS API")

    def ready(self):
        # Registers the OpenAPI description of the signature headers with drf-spectacular.
        from onecard.pos.api import schema  # noqa: F401
