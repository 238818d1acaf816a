"""What analytics hangs on lower apps: the facts kept current as sales, returns and top-ups are recorded, the
member page's analytics section and each product's "bought with" link. Imported once by AnalyticsConfig.ready."""

from django.utils.translation import gettext_lazy as _

from onecard.analytics import facts
from onecard.analytics.dashboards import rollup
from onecard.analytics.member_section import register_member_section
from onecard.catalog.product_links import add_product_link


def connect():
    """Listen to the sales, top-ups and member changes that change facts and rollups; add the member page's section and links."""
    facts.connect()
    rollup.connect()
    register_member_section()
    add_product_link(_("Bought with"), "basket:product", "analytics.view")
