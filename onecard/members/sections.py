"""The sections of the member 360 page that other apps fill.

Members owns the list; an app above it (loyalty, promotions, later service) fills a placeholder or adds a
section from its AppConfig.ready, so members never imports them. A section's "template" is rendered with
the page's context, `member` included; an empty one shows its "empty" text.
"""

from django.utils.translation import gettext_lazy

MEMBER_SECTIONS = [
    {
        "key": "cards",
        "title": gettext_lazy("会员卡 Cards"),
        "empty": gettext_lazy("No cards yet."),
        "template": "",
    },
    {
        "key": "transactions",
        "title": gettext_lazy("交易 Transactions"),
        "empty": gettext_lazy("No transactions yet."),
        "template": "",
    },
    {
        "key": "coupons",
        "title": gettext_lazy("优惠券 Coupons"),
        "empty": gettext_lazy("No coupons yet."),
        "template": "",
    },
    {
        "key": "tickets",
        "title": gettext_lazy("工单 Tickets"),
        "empty": gettext_lazy("No tickets yet."),
        "template": "",
    },
]


def fill_section(key, template):
    """Show `template` in the section `key` (a placeholder above); an unknown key changes nothing."""
    for section in MEMBER_SECTIONS:
        if section["key"] == key:
            section["template"] = template


def add_section(section, after="transactions"):
    """Insert a copy of `section` after the section `after` (at the end when there is none); once only."""
    # Called from AppConfig.ready, which may run more than once (tests): a second call adds nothing.
    if any(existing["key"] == section["key"] for existing in MEMBER_SECTIONS):
        return
    keys = [existing["key"] for existing in MEMBER_SECTIONS]
    at = keys.index(after) + 1 if after in keys else len(keys)
    MEMBER_SECTIONS.insert(at, dict(section))


# Facts of the member page's header that other apps know (loyalty: the tier): key → function(member).
HEADER_FACTS = {}


def provide_header_fact(key, fact):
    """Show `fact(member)` (a short text, or None for "—") in the header of the member page under `key`."""
    HEADER_FACTS[key] = fact


def member_header_facts(member):
    """{key: text} of every registered header fact for this member."""
    return {key: fact(member) for key, fact in HEADER_FACTS.items()}
