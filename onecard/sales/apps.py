from django.utils.translation import gettext_lazy as _

from onecard.core import app_config


class SalesConfig(app_config.HooksAppConfig):
    """The one purchase history: sales, their lines, tenders and returns, whichever way a member paid."""

    name = "onecard.sales"
    label = "sales"
    verbose_name = _("Sales")
