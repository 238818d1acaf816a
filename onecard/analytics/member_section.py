"""The "Analytics" (会员分析) section of the member 360 page, registered from AnalyticsConfig.ready."""

from django.utils.translation import gettext_lazy

from onecard.members.sections import add_section

MEMBER_SECTION = {
    "key": "analytics",
    "title": gettext_lazy("会员分析 Analytics"),
    "empty": gettext_lazy("No purchases yet."),
    "template": "analytics/member_analytics.html",
}


def register_member_section():
    """Add the section after the purchases (once)."""
    add_section(MEMBER_SECTION, after="purchases")
