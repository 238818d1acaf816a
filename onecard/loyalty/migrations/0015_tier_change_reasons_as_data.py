"""Tier-change reasons written as English sentences become data (details); what cannot be parsed stays text."""

import re

from django.db import migrations

METRICS = {"spend": "spend", "top-ups": "topup", "points earned": "points_earned", "visits": "visits"}
RULE = re.compile(
    r"^(?P<metric>spend|top-ups|points earned|visits) (?P<value>-?¥?-?[\d,]+(?:\.\d\d)?) in the last "
    r"(?P<days>\d+) days (?P<sign>[≥<]) (?P<threshold>¥?[\d,]+(?:\.\d\d)?)$"
)
GRACE = re.compile(r"^(?P<rest>.*) \(grace ended (?P<date>\d{4}-\d\d-\d\d)\)$")
MERGED = re.compile(r"^merged member (?P<member_no>\S+) held (?P<tier>.+)$")


def _number(text, metric):
    negative = text.startswith("-")
    digits = text.replace("-", "").replace("¥", "").replace(",", "")
    if metric in ("spend", "topup"):
        yuan, _dot, fen = digits.partition(".")
        value = int(yuan) * 100 + int(fen or 0)
    else:
        value = int(digits)
    return -value if negative else value


def _rule(text):
    match = RULE.match(text.strip())
    if match is None:
        return None
    metric = METRICS[match["metric"]]
    return {"metric": metric, "value": _number(match["value"], metric),
            "threshold": _number(match["threshold"], metric), "window_days": int(match["days"]),
            "met": match["sign"] == "≥"}  # fmt: skip


def parse(reason, kind):
    """The details of one old English reason, or None when it is not one the job wrote."""
    text, grace = reason, None
    match = GRACE.match(text)
    if match is not None:
        text, grace = match["rest"], match["date"]
    if text == "entry tier":
        details = {"why": "entry"}
    elif text == "tier no longer offered":
        details = {"why": "tier_gone"}
    elif kind == "merge" and MERGED.match(text):
        found = MERGED.match(text)
        details = {"why": "merged", "member_no": found["member_no"], "tier": found["tier"]}
    else:
        facts = [_rule(part) for part in text.split("; ")]
        if not facts or None in facts:
            return None
        details = {"why": "rule_met" if all(f["met"] for f in facts) else "short", "rules": facts}
    if grace:
        details["grace_ended"] = grace
    return details


def forwards(apps, schema_editor):
    TierChange = apps.get_model("loyalty", "TierChange")
    batch = []
    for change in TierChange.objects.filter(details={}).exclude(kind="manual").only("id", "reason", "kind"):
        details = parse(change.reason, change.kind)
        if details is None:
            continue  # kept as text: shown as it was written
        change.details, change.reason = details, ""
        batch.append(change)
        if len(batch) >= 1000:
            TierChange.objects.bulk_update(batch, ["details", "reason"])
            batch = []
    TierChange.objects.bulk_update(batch, ["details", "reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0014_tier_change_details"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
