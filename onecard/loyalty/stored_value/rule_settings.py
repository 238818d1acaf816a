"""Merchant settings of stored value and points that the management pages change (L3, L4).

The writes that had no service yet: a product's consumption order, switching a top-up bonus rule
on or off, points earn rules, and the merchant's points policy. Like products and tiers these are
merchant-wide (head office in scope); a store's own bonus rule may also be switched by its store.
Each service validates first and writes nothing on a refusal (ValidationFailed), in one transaction,
with an audit row. Amounts are integer fen; rates and multipliers are Decimal, never float.
"""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import ValidationFailed, refuse_unknown_fields
from onecard.core.scoping import require_node_in_scope
from onecard.loyalty.cards.products import merchant_root, require_merchant_wide_scope
from onecard.loyalty.models import (
    CardProduct,
    PointsEarnRule,
    PointsPolicy,
    StoredValueSettings,
    TopupBonusRule,
)
from onecard.loyalty.models.points import ExpiryMode
from onecard.loyalty.models.stored_value import ConsumptionOrder

EARN_RULE_FIELDS = ("name", "points_per_yuan", "weekdays", "birthday_multiplier", "valid_from", "valid_until",
                    "priority", "is_active")  # fmt: skip
POLICY_FIELDS = ("expiry_mode", "expiry_days", "points_per_yuan", "cap_percent", "cap_fen", "earn_on_bonus",
                 "earn_on_points")  # fmt: skip


@transaction.atomic
def set_consumption_order(actor, product, order) -> StoredValueSettings:
    """How charges of `product`'s cards take principal and bonus (proportional, principal or bonus first)."""
    product = CardProduct.objects.select_for_update().get(pk=product.pk)
    require_merchant_wide_scope(actor, product.merchant)
    if order not in ConsumptionOrder.values:
        raise ValidationFailed({"consumption_order": [_("Choose a consumption order.")]})
    row = StoredValueSettings.objects.filter(product=product).first()
    before = row.consumption_order if row else ConsumptionOrder.PROPORTIONAL
    if row is None:
        row = StoredValueSettings.objects.create(product=product, consumption_order=order)
    elif row.consumption_order != order:
        row.consumption_order = order
        row.save(update_fields=["consumption_order"])
    if before != order:
        audit.record(actor, "update", product, before={"consumption_order": before},
                     after={"consumption_order": order}, merchant=product.merchant)  # fmt: skip
    return row


@transaction.atomic
def set_bonus_rule_active(actor, rule, active) -> TopupBonusRule:
    """Switch a top-up bonus rule on or off; its tiers and dates never change (make a new rule instead)."""
    rule = (
        TopupBonusRule.objects.select_for_update(of=("self",))
        .select_related("merchant", "store")
        .get(pk=rule.pk)
    )
    if actor is not None:
        require_node_in_scope(actor, rule.store if rule.store_id else merchant_root(rule.merchant))
    if rule.is_active != bool(active):
        rule.is_active = bool(active)
        rule.save(update_fields=["is_active"])
        audit.record(actor, "update", rule, before={"is_active": not rule.is_active},
                     after={"is_active": rule.is_active}, merchant=rule.merchant, node=rule.store)  # fmt: skip
    return rule


def _clean_earn_rule(merchant, data, stores):
    errors = {}
    if not (data.get("name") or "").strip():
        errors["name"] = [_("Give the rule a name.")]
    rate = data.get("points_per_yuan")
    if not isinstance(rate, Decimal) or rate < 0:
        errors["points_per_yuan"] = [_("A decimal number, zero or more (no floats).")]
    multiplier = data.get("birthday_multiplier")
    if not isinstance(multiplier, Decimal) or multiplier <= 0:
        errors["birthday_multiplier"] = [_("A decimal number above zero (no floats).")]
    weekdays = data.get("weekdays") or ""
    if any(day not in "1234567" for day in weekdays) or len(set(weekdays)) != len(weekdays):
        errors["weekdays"] = [_("Digits 1 (Monday) to 7 (Sunday), each once.")]
    if data.get("valid_from") and data.get("valid_until") and data["valid_until"] < data["valid_from"]:
        errors["valid_until"] = [_("The end comes after the start.")]
    if any(node.merchant_id != merchant.pk or not node.is_store for node in stores):
        errors["stores"] = [_("Only stores of this merchant.")]
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def create_earn_rule(actor, merchant, *, name, points_per_yuan, stores=(), weekdays="",
                     birthday_multiplier=Decimal(1), valid_from=None, valid_until=None, priority=0) -> PointsEarnRule:  # fmt: skip
    """A points earn rule: points per ¥1 spent, optionally per store, weekday, dates; a birthday multiplier."""
    require_merchant_wide_scope(actor, merchant)
    weekdays = "".join(sorted(weekdays or ""))
    data = {"name": name, "points_per_yuan": points_per_yuan, "weekdays": weekdays,
            "birthday_multiplier": birthday_multiplier, "valid_from": valid_from, "valid_until": valid_until,
            "priority": priority}  # fmt: skip
    stores = list(stores)
    _clean_earn_rule(merchant, data, stores)
    rule = PointsEarnRule.objects.create(merchant=merchant, **{**data, "name": name.strip()[:60]})
    rule.stores.set(stores)
    after = {**audit.snapshot(rule, EARN_RULE_FIELDS), "stores": [s.pk for s in stores]}
    audit.record(actor, "create", rule, after=after, merchant=merchant)
    return rule


@transaction.atomic
def update_earn_rule(actor, rule, *, stores=None, **changes) -> PointsEarnRule:
    """Change an earn rule (is_active=False switches it off); points already earned stay as they are."""
    rule = PointsEarnRule.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=rule.pk)
    require_merchant_wide_scope(actor, rule.merchant)
    refuse_unknown_fields(changes, EARN_RULE_FIELDS)
    if "weekdays" in changes:
        changes["weekdays"] = "".join(sorted(changes["weekdays"] or ""))
    before = {**audit.snapshot(rule, EARN_RULE_FIELDS), "stores": sorted(s.pk for s in rule.stores.all())}
    new_stores = list(stores) if stores is not None else list(rule.stores.all())
    # The rule's typed values (Decimal, date): the audit snapshot holds them as strings.
    current = {name: getattr(rule, name) for name in EARN_RULE_FIELDS}
    _clean_earn_rule(rule.merchant, {**current, **changes}, new_stores)
    for name, value in changes.items():
        setattr(rule, name, value)
    rule.save()
    if stores is not None:
        rule.stores.set(new_stores)
    after = {**audit.snapshot(rule, EARN_RULE_FIELDS), "stores": sorted(s.pk for s in new_stores)}
    b, a = audit.diff(before, after)
    if a:
        audit.record(actor, "update", rule, before=b, after=a, merchant=rule.merchant)
    return rule


@transaction.atomic
def set_points_policy(actor, merchant, *, expiry_mode, expiry_days, points_per_yuan, cap_percent=None,
                      cap_fen=None, earn_on_bonus=False, earn_on_points=False) -> PointsPolicy:  # fmt: skip
    """The merchant's points expiry, cash value, cap per bill and what a checkout earns points on."""
    require_merchant_wide_scope(actor, merchant)
    errors = {}
    if expiry_mode not in ExpiryMode.values:
        errors["expiry_mode"] = [_("Choose when points expire.")]
    if type(expiry_days) is not int or expiry_days <= 0:
        errors["expiry_days"] = [_("A whole number of days above zero.")]
    if type(points_per_yuan) is not int or points_per_yuan <= 0:
        errors["points_per_yuan"] = [_("A whole number of points above zero.")]
    if cap_percent is not None and (not isinstance(cap_percent, Decimal) or not 0 <= cap_percent <= 100):
        errors["cap_percent"] = [_("A percentage from 0 to 100.")]
    if cap_fen is not None and (type(cap_fen) is not int or cap_fen < 0):
        errors["cap_fen"] = [_("A whole number of fen, zero or more.")]
    for name, flag in (("earn_on_bonus", earn_on_bonus), ("earn_on_points", earn_on_points)):
        if not isinstance(flag, bool):
            errors[name] = [_("Yes or no.")]
    if errors:
        raise ValidationFailed(errors)
    policy = PointsPolicy.objects.select_for_update().filter(merchant=merchant).first()
    before = audit.snapshot(policy, POLICY_FIELDS) if policy else {}
    values = {"expiry_mode": expiry_mode, "expiry_days": expiry_days, "points_per_yuan": points_per_yuan,
              "cap_percent": cap_percent, "cap_fen": cap_fen, "earn_on_bonus": earn_on_bonus,
              "earn_on_points": earn_on_points}  # fmt: skip
    policy, _created = PointsPolicy.objects.update_or_create(merchant=merchant, defaults=values)
    b, a = audit.diff(before, audit.snapshot(policy, POLICY_FIELDS))
    if a:
        audit.record(actor, "update", policy, before=b, after=a, merchant=merchant)
    return policy
