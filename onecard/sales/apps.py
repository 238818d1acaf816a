from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    """The one purchase history: sales, their lines, tenders and returns, whichever way a member paid."""

    name = "onecard.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self):
        # Django's rule: a module that imports models is imported once the app registry is ready.
        from . import hooks

        hooks.connect()
