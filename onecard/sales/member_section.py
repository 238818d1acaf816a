"""The "Purchases" (消费记录) section of the member 360 page, registered from SalesConfig.ready."""

from django.utils.translation import gettext_lazy

from onecard.members.sections import add_section

MEMBER_SECTION = {
    "key": "purchases",
    "title": gettext_lazy("消费记录 Purchases"),
    "empty": gettext_lazy("No purchases yet."),
    "template": "sales/member_purchases.html",
}


def register_member_section():
    """Add the section after the card transactions (once), as the loyalty app adds its own."""
    add_section(MEMBER_SECTION)
