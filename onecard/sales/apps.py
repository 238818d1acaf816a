from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    """The one purchase history: sales, their lines, tenders and returns, whichever way a member paid."""

    name = "onecard.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from onecard.sales.member_section import register_member_section

        register_member_section()
