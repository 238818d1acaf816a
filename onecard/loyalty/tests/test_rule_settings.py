"""Services of rule_settings: consumption order, bonus rules on/off, earn rules, points policy."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from onecard.core.errors import PermissionDenied, ValidationFailed
from onecard.core.models import AuditEntry
from onecard.loyalty.models import PointsEarnRule, PointsPolicy, StoredValueSettings
from onecard.loyalty.stored_value import rule_settings
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.cards import make_product

pytestmark = pytest.mark.django_db


def test_consumption_order_is_set_once_and_audited(chain):
    # given
    product = make_product(chain)
    # when
    rule_settings.set_consumption_order(chain.hq_admin, product, "bonus_first")
    rule_settings.set_consumption_order(chain.hq_admin, product, "bonus_first")
    # then
    assert stored_value.consumption_order(product) == "bonus_first"
    assert StoredValueSettings.objects.filter(product=product).count() == 1
    notes = AuditEntry.objects.filter(
        subject_type="loyalty.cardproduct", after__consumption_order="bonus_first"
    )
    assert notes.count() == 1


def test_consumption_order_is_head_office_only_and_checked(chain):
    product = make_product(chain)
    with pytest.raises(PermissionDenied):
        rule_settings.set_consumption_order(chain.region_manager, product, "bonus_first")
    with pytest.raises(ValidationFailed):
        rule_settings.set_consumption_order(chain.hq_admin, product, "random")
    assert not StoredValueSettings.objects.exists()


def test_store_bonus_rule_is_switched_by_its_store(chain):
    # given a bonus rule of store A1
    rule = stored_value.create_bonus_rule(
        None,
        chain.merchant,
        name="A1 充值送",
        tiers=[[50_000, 5_000]],
        valid_from=timezone.now(),
        store=chain.a1,
    )
    # when B1 tries, refused; A1's manager switches it off
    with pytest.raises(PermissionDenied):
        rule_settings.set_bonus_rule_active(chain.cashier_b1, rule, False)
    rule_settings.set_bonus_rule_active(chain.store_manager, rule, False)
    # then no bonus at A1 any more
    rule.refresh_from_db()
    assert rule.is_active is False
    assert stored_value.bonus_for(chain.merchant, chain.a1, 50_000) == 0


def test_earn_rule_checks_its_fields_and_writes_nothing_when_refused(chain):
    with pytest.raises(ValidationFailed) as refused:
        rule_settings.create_earn_rule(
            chain.hq_admin, chain.merchant, name="x", points_per_yuan=Decimal(1), weekdays="89",
            stores=[chain.other_store], valid_from=datetime.date(2026, 2, 1), valid_until=datetime.date(2026, 1, 1),
        )  # fmt: skip
    assert set(refused.value.errors) == {"weekdays", "stores", "valid_until"}
    assert not PointsEarnRule.objects.exists()
    with pytest.raises(ValidationFailed):
        rule_settings.create_earn_rule(chain.hq_admin, chain.merchant, name="y", points_per_yuan=1.5)
    assert not PointsEarnRule.objects.exists()


def test_points_policy_is_validated_and_replaced(chain):
    # given / when
    rule_settings.set_points_policy(chain.hq_admin, chain.merchant, expiry_mode="days", expiry_days=90,
                                    points_per_yuan=100, cap_fen=5_000)  # fmt: skip
    rule_settings.set_points_policy(chain.hq_admin, chain.merchant, expiry_mode="month_end", expiry_days=90,
                                    points_per_yuan=10, cap_percent=Decimal(50))  # fmt: skip
    # then
    policy = PointsPolicy.objects.get(merchant=chain.merchant)
    assert (policy.expiry_mode, policy.points_per_yuan, policy.cap_percent, policy.cap_fen) == (
        "month_end", 10, Decimal(50), None)  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        rule_settings.set_points_policy(chain.hq_admin, chain.merchant, expiry_mode="never", expiry_days=0,
                                        points_per_yuan=0, cap_percent=Decimal(150), cap_fen=-1)  # fmt: skip
    assert set(refused.value.errors) == {
        "expiry_mode",
        "expiry_days",
        "points_per_yuan",
        "cap_percent",
        "cap_fen",
    }
    assert PointsPolicy.objects.get(merchant=chain.merchant).points_per_yuan == 10
