"""What analytics hangs on lower apps: the facts kept current as sales, returns and top-ups are recorded,
and the member page's analytics section. Imported once by AnalyticsConfig.ready."""

from onecard.analytics import facts
from onecard.analytics.member_section import register_member_section


def connect():
    """Listen to the sales and top-ups that change a member's facts; add the member page's section."""
    facts.connect()
    register_member_section()
