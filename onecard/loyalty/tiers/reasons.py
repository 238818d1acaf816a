"""Why a tier changed, kept as data (`TierChange.details`) and put into words in the reader's language.

details = {"why": WHY, "rules": [{"metric", "value", "threshold", "window_days", "met"}, ...],
           "grace_ended": "YYYY-MM-DD", "member_no": "...", "tier": "..."}; only the keys a `why` needs.
A row written before reasons were data keeps its English sentence in `reason` and details {}.
"""

from django.utils.translation import gettext as _

from onecard.loyalty.cards.choices import TierMetric

RULE_MET = "rule_met"  # an upgrade (or first tier) earned by one rule
ENTRY = "entry"  # the entry tier, which has no rules
SHORT = "short"  # a downgrade: every rule of the tier held is short
TIER_GONE = "tier_gone"  # a downgrade: the tier held is no longer offered
MERGED = "merged"  # a merge brought the merged member's better tier
MANUAL = "manual"  # set by staff; their words are in `reason`


def rule_fact(rule, value, *, met=True) -> dict:
    """One rule's figures as stored: metric, the member's value, the threshold, the window, met or not."""
    return {"metric": rule.metric, "value": int(value), "threshold": rule.threshold,
            "window_days": rule.window_days, "met": met}  # fmt: skip


def format_metric(metric, value) -> str:
    """5230_00 fen → "¥5,230.00"; points and visits as plain counts with thousands separators."""
    if metric in (TierMetric.SPEND, TierMetric.TOPUP):
        sign = "-" if value < 0 else ""
        value = abs(value)
        return f"{sign}¥{value // 100:,}.{value % 100:02d}"
    return f"{value:,}"


def describe_rule(fact) -> str:
    """ "消费 ¥5,230.00（近 365 天）≥ ¥5,000.00" in the reader's language."""
    metric = fact["metric"]
    words = {
        "metric": str(TierMetric(metric).label) if metric in TierMetric.values else metric,
        "value": format_metric(metric, fact["value"]),
        "threshold": format_metric(metric, fact["threshold"]),
        "days": fact["window_days"],
    }
    if fact.get("met", True):
        return _("%(metric)s %(value)s in the last %(days)s days ≥ %(threshold)s") % words
    return _("%(metric)s %(value)s in the last %(days)s days < %(threshold)s") % words


def describe(details, reason="") -> str:
    """The reason of one tier change in the active language; old rows without details show their text."""
    why = (details or {}).get("why")
    if why in (RULE_MET, SHORT):
        text = _("; ").join(describe_rule(fact) for fact in details.get("rules", []))
        if why == SHORT and not text:
            text = _("the tier has no rules left")
    elif why == ENTRY:
        text = _("entry tier")
    elif why == TIER_GONE:
        text = _("tier no longer offered")
    elif why == MERGED:
        text = _("merged member %(member_no)s held %(tier)s") % {
            "member_no": details.get("member_no", ""),
            "tier": details.get("tier", ""),
        }
    else:
        return reason
    if details.get("grace_ended"):
        text += _(" (grace ended %(date)s)") % {"date": details["grace_ended"]}
    return text
