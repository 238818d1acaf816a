"""Tier-change reasons are data, put into words in the reader's language; old English sentences are migrated."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.utils import translation

from onecard.loyalty.cards.choices import TierChangeKind
from onecard.loyalty.models import TierChange
from onecard.loyalty.tiers import services as tiers

migration = importlib.import_module("onecard.loyalty.migrations.0015_tier_change_reasons_as_data")
pytestmark = pytest.mark.django_db


def test_old_sentences_become_data():
    assert migration.parse("spend ¥1,124.70 in the last 365 days ≥ ¥800.00", "upgrade") == {
        "why": "rule_met",
        "rules": [
            {"metric": "spend", "value": 112_470, "threshold": 80_000, "window_days": 365, "met": True}
        ],
    }
    assert migration.parse(
        "spend ¥1,000.00 in the last 365 days < ¥5,000.00; visits 0 in the last 90 days < 30 "
        "(grace ended 2026-01-31)",
        "downgrade",
    ) == {
        "why": "short",
        "rules": [
            {"metric": "spend", "value": 100_000, "threshold": 500_000, "window_days": 365, "met": False},
            {"metric": "visits", "value": 0, "threshold": 30, "window_days": 90, "met": False},
        ],
        "grace_ended": "2026-01-31",
    }
    assert migration.parse("entry tier", "upgrade") == {"why": "entry"}
    assert migration.parse("merged member 10000007 held 金卡", "merge") == {
        "why": "merged", "member_no": "10000007", "tier": "金卡"}  # fmt: skip
    assert migration.parse("spent a lot", "upgrade") is None


def test_the_migration_rewrites_what_it_parses_and_keeps_the_rest(chain, member_factory):
    # given two rows in the old form: one the job wrote, one it did not
    tier = tiers.create_tier(chain.hq_admin, chain.merchant, name="钻石卡", rank=3)
    member = member_factory()
    common = {
        "member": member,
        "merchant": chain.merchant,
        "to_tier": tier,
        "effective_on": datetime.date(2026, 1, 1),
    }
    parsed = TierChange.objects.create(kind=TierChangeKind.UPGRADE, reason="top-ups ¥1,500.00 in the last 180 days ≥ ¥1,000.00", **common)  # fmt: skip
    kept = TierChange.objects.create(kind=TierChangeKind.UPGRADE, reason="promised by phone", **common)
    # when
    migration.forwards(apps, None)
    # then
    parsed.refresh_from_db()
    kept.refresh_from_db()
    assert parsed.reason == "" and parsed.details["rules"][0]["metric"] == "topup"
    assert (kept.reason, kept.details) == ("promised by phone", {})
    with translation.override("zh-hans"):
        assert parsed.reason_text == "充值金额 ¥1,500.00（近 180 天）≥ ¥1,000.00"
        assert kept.reason_text == "promised by phone"
    with translation.override("en"):
        assert parsed.reason_text == "Top-ups ¥1,500.00 in the last 180 days ≥ ¥1,000.00"
