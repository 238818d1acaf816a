from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    """Organisation: merchants, alliances, the org tree, staff and roles."""

    name = "onecard.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self):
        # hooks: log-ins start tracked sessions, log-outs end them; signals: failed log-ins count for the lock-out
        from . import hooks, signals  # noqa: F401
