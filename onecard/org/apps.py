from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    """Organisation: merchants, alliances, the org tree, staff and roles."""

    name = "onecard.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self):
        from . import signals  # noqa: F401  (counts failed log-ins for the lock-out)
