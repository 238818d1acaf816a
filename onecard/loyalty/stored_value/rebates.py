"""Rebates (返利): a percentage of a charge or capture given back to the card as bonus value or points.

`rebate_for` picks the rule a charge gets, `grant` posts it inside the charge's transaction, and
the rebate rules are managed here; rounding and refunds are in docs/money.md (Rebates).
"""

from decimal import ROUND_FLOOR, Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core import audit
from onecard.core.errors import ValidationFailed, refuse_unknown_fields
from onecard.core.scoping import require_node_in_scope
from onecard.loyalty.cards.products import merchant_root
from onecard.loyalty.cards.services import card_account
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.clearing import clearing_legs, home_node
from onecard.loyalty.ledger.services import EntrySpec, leg
from onecard.loyalty.models.stored_value import RebateForm, RebateRule
from onecard.loyalty.points import services as points

MAX_PERCENT = Decimal(100)


def _pk(value):
    return getattr(value, "pk", value)


def rules_in_force(merchant, store, at=None):
    """The active rules of `merchant` valid at `at` for `store` (chain-wide ones included)."""
    at = at or timezone.now()
    return RebateRule.objects.filter(
        Q(store__isnull=True) | Q(store=store),
        merchant_id=_pk(merchant),
        is_active=True,
        valid_from__lte=at,
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))


def rebate_for(card, store, due, at=None) -> RebateRule | None:
    """The rule a charge of `due` fen at `store` gets: the highest percent, then store-specific, then newest."""
    if store.merchant_id != card.merchant_id:
        return None
    candidates = [rule for rule in rules_in_force(card.merchant_id, store, at) if due >= rule.min_amount]
    candidates.sort(key=lambda r: (r.percent, r.store_id is not None, r.pk), reverse=True)
    return candidates[0] if candidates else None


def rebate_fen(rule, due) -> int:
    """floor(due × percent / 100): the value of the rebate in fen."""
    return int((Decimal(due) * rule.percent / 100).to_integral_value(rounding=ROUND_FLOOR))


def rebate_points(rule, due) -> int:
    """floor(due × percent / 100 × points_per_yuan / 100): the rebate in points at the merchant's rate."""
    rate = points.policy_for(rule.merchant_id).points_per_yuan
    raw = Decimal(due) * rule.percent / 100 * rate / 100
    return int(raw.to_integral_value(rounding=ROUND_FLOOR))


def grant(actor, card, store, due, *, business_ref="", refers_to=None, at=None) -> dict:
    """Give the rebate of a charge or capture of `due` at `store` (the caller holds the card's lock).

    Returns the CardTransaction fields to record: rebate_rule, rebate_bonus or rebate_points and
    rebate_lot; {} when no rule applies or the rebate rounds to nothing.
    """
    rule = rebate_for(card, store, due, at)
    if rule is None:
        return {}
    actor = actor if actor is not None and actor.pk else None
    if rule.form == RebateForm.POINTS:
        value = rebate_points(rule, due)
        if value <= 0:
            return {}
        lot = points.earn(
            actor, card, value, store=store, kind=EntryKind.REBATE, reason="rebate", business_ref=business_ref
        )
        return {"rebate_rule": rule, "rebate_points": value, "rebate_lot": lot}
    value = rebate_fen(rule, due)
    if value <= 0:
        return {}
    expense = ledger.open_account(AccountKind.BONUS_EXPENSE, store.merchant_id, node=store)
    legs = [(expense, -value), (card_account(card, AccountKind.MEMBER_BONUS), value)]
    # The store gives value its card's home will owe: the store owes the home that value.
    legs += clearing_legs(store, home_node(card), value)
    ledger.post(
        EntrySpec(
            kind=EntryKind.REBATE,
            merchant=card.merchant_id,
            node=store,
            actor=actor,
            memo=f"rebate {rule.name}"[:200],
            business_ref=business_ref,
            refers_to=refers_to,
            legs=[leg(account, amount) for account, amount in legs],
        )
    )
    return {"rebate_rule": rule, "rebate_bonus": value}


def share_back(refunded_before, refunded_now, amount, part, already) -> int:
    """What a refund takes back of `part`: floor((before + now) × part / amount) − `already` taken back."""
    return (refunded_before + refunded_now) * part // amount - already


REBATE_RULE_FIELDS = ("name", "percent", "form", "min_amount", "valid_from", "valid_to", "store", "is_active")


def _parse_percent(percent):
    """`percent` as a Decimal with 0 < percent ≤ 100 and at most two decimals, or None when it is not one."""
    try:
        rate = Decimal(str(percent))
    except (ArithmeticError, ValueError, TypeError):
        return None
    if not rate.is_finite() or not (0 < rate <= MAX_PERCENT) or rate != rate.quantize(Decimal("0.01")):
        return None
    return rate.quantize(Decimal("0.01"))


def _clean_rule(merchant_id, data) -> dict:
    """The rule's fields checked together: the cleaned values, or ValidationFailed naming every bad field."""
    errors = {}
    store = data.get("store")
    if store is not None and store.merchant_id != merchant_id:
        errors["store"] = [_("The store belongs to another merchant.")]
    elif store is not None and not store.is_store:
        # Charges happen at stores, so a rule on a region or head office would never apply.
        errors["store"] = [_("Choose a store, or no store for a chain-wide rule.")]
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Give the rule a name.")]
    rate = _parse_percent(data.get("percent"))
    if rate is None:
        errors["percent"] = [_("The percent is above 0 and at most 100, with at most two decimals.")]
    min_amount = data.get("min_amount")
    if type(min_amount) is not int or min_amount < 0 or min_amount > ledger.MAX_AMOUNT:
        errors["min_amount"] = [_("The minimum amount is a whole number of fen, 0 or more.")]
    if data.get("form") not in RebateForm.values:
        errors["form"] = [_("A rebate is given as bonus value or as points.")]
    valid_from, valid_to = data.get("valid_from"), data.get("valid_to")
    if valid_from is None:
        errors["valid_from"] = [_("Give the start of the rule.")]
    elif valid_to is not None and valid_to <= valid_from:
        errors["valid_to"] = [_("The end comes after the start.")]
    if type(data.get("is_active")) is not bool:
        errors["is_active"] = [_("Active is yes or no.")]
    if errors:
        raise ValidationFailed(errors)
    return {**data, "name": name[:60], "percent": rate}


@transaction.atomic
def create_rebate_rule(actor, merchant, *, name, percent, form=RebateForm.BONUS, min_amount=0, valid_from=None,
                       valid_to=None, store=None, is_active=True) -> RebateRule:  # fmt: skip
    """A rebate rule (chain-wide, or for one `store` of the merchant), validated and audited.

    percent: a Decimal (or its string) with 0 < percent ≤ 100 and at most two decimals; min_amount:
    whole fen ≥ 0; valid_to after valid_from (valid_from defaults to now).
    """
    if actor is not None:
        require_node_in_scope(actor, store if store is not None else merchant_root(merchant))
    data = _clean_rule(
        _pk(merchant),
        {"name": name, "percent": percent, "form": form, "min_amount": min_amount,
         "valid_from": valid_from or timezone.now(), "valid_to": valid_to, "store": store, "is_active": is_active},
    )  # fmt: skip
    rule = RebateRule.objects.create(merchant_id=_pk(merchant), **data)
    audit.record(actor, "create", rule, after=audit.snapshot(rule), merchant=rule.merchant, node=store)
    return rule


def _require_rule_scope(actor, rule, store):
    """A store's rule is changed from that store or above; a chain-wide one from head office."""
    if actor is not None:
        require_node_in_scope(actor, store if store is not None else merchant_root(rule.merchant))


@transaction.atomic
def update_rebate_rule(actor, rule, **changes) -> RebateRule:
    """Change a rebate rule (any of REBATE_RULE_FIELDS), checked like a new one, audited with what changed.

    Charges already rebated keep their rebate: a refund takes back what the charge recorded, not
    what the rule says now.
    """
    rule = (
        RebateRule.objects.select_for_update(of=("self",)).select_related("merchant", "store").get(pk=rule.pk)
    )
    _require_rule_scope(actor, rule, rule.store)
    refuse_unknown_fields(changes, REBATE_RULE_FIELDS)
    if "store" in changes and _pk(changes["store"]) != rule.store_id:
        # Moving a rule needs the scope of where it goes too.
        _require_rule_scope(actor, rule, changes["store"])
    current = {name: getattr(rule, name) for name in REBATE_RULE_FIELDS}
    data = _clean_rule(rule.merchant_id, {**current, **changes})
    before = audit.snapshot(rule, REBATE_RULE_FIELDS)
    for name in REBATE_RULE_FIELDS:
        setattr(rule, name, data[name])
    rule.save()
    b, a = audit.diff(before, audit.snapshot(rule, REBATE_RULE_FIELDS))
    if a:
        audit.record(actor, "update", rule, before=b, after=a, merchant=rule.merchant, node=rule.store)
    return rule


def set_rebate_rule_active(actor, rule, active) -> RebateRule:
    """Switch a rebate rule on or off (update_rebate_rule with only is_active)."""
    return update_rebate_rule(actor, rule, is_active=bool(active))
