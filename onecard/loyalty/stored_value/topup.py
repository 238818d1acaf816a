"""Top-ups (充值) and the top-up bonus rules: principal from the store's cash, bonus from its bonus expense.

The rules (tiers of threshold → bonus, the cap, clearing with the card's home) are in docs/money.md.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core import audit
from onecard.core.errors import ValidationFailed
from onecard.core.money import MAX_AMOUNT
from onecard.core.scoping import require_node_in_scope
from onecard.loyalty.cards.errors import BalanceCapExceeded, CardNotAccepted
from onecard.loyalty.cards.products import merchant_root
from onecard.loyalty.ledger.card_entries import (
    card_accounts,
    clearing_for,
    locked_balances,
    post_entry,
    record,
    store_account,
)
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, TopupBonusRule
from onecard.loyalty.stored_value import prepaid_rules
from onecard.loyalty.stored_value.amounts import check_amount
from onecard.loyalty.stored_value.card_checks import lock_usable_card


def clean_bonus_tiers(tiers) -> list[list[int]]:
    """Tiers as [[threshold, bonus], ...] sorted by threshold: positive int fen, thresholds distinct."""
    try:
        pairs = [(t, b) for t, b in tiers]
    except (TypeError, ValueError):
        raise ValidationFailed({"tiers": [_("Give a list of (threshold, bonus) pairs in fen.")]}) from None
    if not pairs or any(type(v) is not int or v <= 0 or v > MAX_AMOUNT for pair in pairs for v in pair):
        raise ValidationFailed({"tiers": [_("Thresholds and bonuses are positive whole numbers of fen.")]})
    if len({t for t, _b in pairs}) != len(pairs):
        raise ValidationFailed({"tiers": [_("Each threshold appears once.")]})
    return [[t, b] for t, b in sorted(pairs)]


def create_bonus_rule(actor, merchant, *, name, tiers, valid_from, valid_to=None, store=None,
                      priority=0) -> TopupBonusRule:  # fmt: skip
    """A top-up bonus rule (chain-wide, or for one `store` of the merchant), audited."""
    if actor is not None:
        require_node_in_scope(actor, store if store is not None else merchant_root(merchant))
    errors = {}
    if store is not None and store.merchant_id != _pk(merchant):
        errors["store"] = [_("The store belongs to another merchant.")]
    if valid_to is not None and valid_to <= valid_from:
        errors["valid_to"] = [_("The end comes after the start.")]
    if not (name or "").strip():
        errors["name"] = [_("Give the rule a name.")]
    if errors:
        raise ValidationFailed(errors)
    rule = TopupBonusRule.objects.create(
        merchant_id=_pk(merchant), store=store, name=name.strip()[:60], tiers=clean_bonus_tiers(tiers),
        valid_from=valid_from, valid_to=valid_to, priority=priority,
    )  # fmt: skip
    audit.record(actor, "create", rule, after=audit.snapshot(rule), merchant=rule.merchant, node=store)
    return rule


def _pk(value):
    """The primary key of a model instance, or the value itself (an id)."""
    return getattr(value, "pk", value)


def bonus_rule_for(merchant, store, amount, at=None) -> TopupBonusRule | None:
    """The rule that applies to a top-up of `amount` at `store` at time `at` (None: no bonus)."""
    at = at or timezone.now()
    rules = TopupBonusRule.objects.filter(
        Q(store__isnull=True) | Q(store=store),
        merchant=merchant,
        is_active=True,
        valid_from__lte=at,
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
    candidates = [rule for rule in rules if rule.bonus_for(amount) > 0]
    candidates.sort(key=lambda r: (r.priority, r.store_id is not None, r.pk), reverse=True)
    return candidates[0] if candidates else None


def bonus_for(merchant, store, amount, at=None) -> int:
    """The bonus (fen) a top-up of `amount` at `store` earns at `at`: the best rule's highest reached tier."""
    rule = bonus_rule_for(merchant, store, amount, at)
    return rule.bonus_for(amount) if rule else 0


@transaction.atomic
def topup(actor, card, amount, *, store, tender="cash", at=None, business_ref="") -> CardTransaction:
    """充值: principal +amount from the store's cash, bonus per the rule from bonus expense; one entry.

    Refused with balance_cap_exceeded when principal + bonus after the top-up would pass the
    product's cap (CHINA-RULES), nothing written. Refunds of charges put value back without a
    cap check: they restore what the card held before.
    """
    check_amount(amount)
    card = lock_usable_card(card, store=store)
    if store.merchant_id != card.merchant_id:  # alliance stores charge; prepaid funds stay with the issuer
        raise CardNotAccepted(extra={"card": card.number})
    # CHINA-RULES: agreement accepted, cash tender limits, stores flagged at risk or closing.
    prepaid_rules.check_topup_allowed(card, amount, tender=tender, store=store)
    rule = bonus_rule_for(card.merchant_id, store, amount, at)
    bonus = rule.bonus_for(amount) if rule else 0
    accounts = card_accounts(card)
    cash = store_account(AccountKind.STORE_CASH, store)
    expense = store_account(AccountKind.BONUS_EXPENSE, store)
    balances = locked_balances(accounts)
    after = balances[AccountKind.MEMBER_PRINCIPAL] + balances[AccountKind.MEMBER_BONUS] + amount + bonus
    cap = card.product.effective_balance_cap
    if after > cap:
        raise BalanceCapExceeded(extra={"cap": cap, "balance": after})
    legs = [(cash, -amount), (accounts[AccountKind.MEMBER_PRINCIPAL], amount)]
    if bonus:
        legs += [(expense, -bonus), (accounts[AccountKind.MEMBER_BONUS], bonus)]
    legs += clearing_for(card, [(store, -(amount + bonus))])
    entry = post_entry(
        EntryKind.TOPUP, card, store, actor, legs, memo=f"top-up {card.number}", business_ref=business_ref
    )
    return record(
        CardTxKind.TOPUP, card, store, actor, entry, amount=amount, principal=amount, bonus=bonus,
        list_amount=amount, tender=tender, rule=rule, business_ref=business_ref,
    )  # fmt: skip
