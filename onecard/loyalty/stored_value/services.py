"""Stored value (L3, L5): top-up with bonus, charge with tier discount, refunds. Amounts in fen.

Every service runs in one transaction: lock the card row (cards.lock_cards), then the ledger
accounts in primary-key order (ledger.post does it), post one journal entry and write one
`CardTransaction` pointing at it. A refusal (BusinessError) leaves nothing written.

Rounding rules (documented, explicit):

- tier discount: due = list_amount × tier.discount_rate, rounded half-up to the fen
  (ROUND_HALF_UP); discount = list_amount − due. No tier: rate 1.
- consumption (product's StoredValueSettings, proportional when absent), with p principal and
  b bonus available and d due:
  proportional → bonus = floor(d × b / (p + b)), principal = d − bonus;
  principal_first → principal = min(d, p), bonus = d − principal; bonus_first is the mirror.
- refund of a charge or capture of amount a (principal P, bonus B), refunded R before, by r:
  bonus = floor((R + r) × B / a) − bonus refunded before, principal = r − bonus. Cumulative
  floors: each refund's parts are ≥ 0 and the refunds of one charge add up to P and B exactly.
- refund_topup of r principal of a top-up (principal P, bonus B): bonus withdrawn =
  floor((R + r) × B / P) − bonus withdrawn before, never more than the card's bonus balance.

Clearing between stores and merchants (L6, clearing.py). A card's stored value is a liability of
its home (`clearing.home_node`: the issuing store). Whenever value changes hands at another store,
the same journal entry carries the clearing legs of `clearing_legs(debtor, creditor, amount)`, so
that every store's own accounts and its clearing account net to zero in each entry:

- top-up at S ≠ home H: S took the cash (and funds the bonus it granted), H owes the value, so
  S owes H amount + bonus;
- charge (both paths) and capture at S ≠ H: S delivered, H holds the value, so H owes S the amount
  due; a refund of it owes back the refunded amount between the ORIGINAL store and H (and, when
  the refund takes back a bonus rebate, H owes that store the bonus back in the same entry);
- refund_topup and the payout of a cancelled card (cards.cancel) from store X's cash: H owes X the
  payout; the bonus withdrawn back to the top-up store O's expense: H owes O that bonus;
- a bonus rebate (rebates.py) granted at S ≠ H: S owes H the rebate.
Same-store transactions post no clearing legs; holds post none (the value stays on the card);
points are merchant-wide and never cleared. Across merchants (an alliance: products with
`alliance_accepted`) charges, holds, captures and refunds clear the same way through the
merchant-level clearing accounts; top-ups and top-up refunds stay with the issuer
(card_not_accepted_here).

A checkout's stored-value tender (`pay`, sales.checkout) is a charge of exactly the amount asked:
no tier discount (the checkout's prices already hold it) and no points or rebate of its own (the
checkout earns points on the whole sale). It is refunded with `refund` like any charge.

Points and rebates of a charge or capture (L4, L5), in the charge's transaction: points by the
merchant's earn rules on the amount due (points.earn_for_spend: rule rate × tier multiplier ×
birthday multiplier, floored; no matching rule earns nothing), and the best rebate rule's rebate
(rebates.py). Both only at the issuer's own stores. A refund of r of a charge of a that earned E
points asks back floor((R + r) × E / a) − floor(R × E / a) through points.reverse_earn (cumulative
floors: the refunds add up to E exactly); points the member already spent come back as
`points_shortfall`, never as a negative balance.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core import audit
from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.idempotency import current_idempotency_key
from onecard.core.scoping import require_node_in_scope
from onecard.loyalty.cards.choices import CardKind, CardStatus
from onecard.loyalty.cards.errors import BalanceCapExceeded, CardError, CardNotAccepted
from onecard.loyalty.cards.products import merchant_root
from onecard.loyalty.cards.services import lock_cards, require_password_for_charge, status_error
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.clearing import clearing_legs, home_node
from onecard.loyalty.ledger.errors import InsufficientBalance, InvalidAmount
from onecard.loyalty.ledger.services import MAX_AMOUNT, EntrySpec, Leg
from onecard.loyalty.models import Account, Card, PointsEarnRule
from onecard.loyalty.models.prepaid import CASH_REFUND_LIMIT  # noqa: F401 (the default, kept importable here)
from onecard.loyalty.models.stored_value import (
    CardTransaction,
    CardTxKind,
    ConsumptionOrder,
    RebateRule,
    StoredValueSettings,
    TopupBonusRule,
)
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import charge_rows as card_rows
from onecard.loyalty.stored_value import prepaid_rules, rebates
from onecard.loyalty.tiers.services import member_tier

SHANGHAI = ZoneInfo("Asia/Shanghai")
REFUND_TENDERS = ("bank", "cash", "original")


class NotStoredValueCard(CardError):
    code = "not_stored_value_card"
    default_message = _("This card does not hold stored value.")


class OverRefund(CardError):
    code = "over_refund"
    default_message = _("The refund is more than what remains to refund.")


class NotRefundable(CardError):
    code = "not_refundable"
    default_message = _("This transaction cannot be refunded this way.")


class DailyLimitExceeded(CardError):
    code = "daily_limit_exceeded"
    default_message = _("This charge passes the card's daily charge limit.")


class CashRefundTooLarge(CardError):
    code = "cash_refund_too_large"
    default_message = _("Refunds above ¥100 are paid to a bank account in the holder's name, not in cash.")


# ---- helpers ---------------------------------------------------------------------------------------


def check_amount(amount) -> int:
    """A positive whole number of fen up to ledger.MAX_AMOUNT, or invalid_amount."""
    if type(amount) is not int or amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidAmount(extra={"amount": str(amount)})
    return amount


def current_card(card) -> Card:
    """The card that holds `card`'s money now: a replaced or merged card hands over to its successor.

    Only for follow-ups of an earlier transaction (refund, capture, void): a new top-up, charge or
    hold on a replaced card is refused with card_replaced (its number stops working).
    """
    card = Card.objects.select_related("product", "member").get(pk=card.pk)
    seen = set()
    while card.successor_id is not None and card.pk not in seen:
        seen.add(card.pk)
        card = Card.objects.select_related("product", "member").get(pk=card.successor_id)
    return card


def lock_usable_card(card, *, allowed=(CardStatus.ACTIVE,), store=None) -> Card:
    """Lock the card's row and check it can move stored value now (status, expiry, product kind).

    With `store`: the card's product must accept it (CardProduct.accepts_store: its own merchant's
    stores, or an alliance merchant's when the product is alliance_accepted).
    """
    card = lock_cards(card)[card.pk]
    if store is not None and not card.product.accepts_store(store):
        raise CardNotAccepted(extra={"card": card.number})
    if card.status not in allowed:
        raise status_error(card)
    if CardStatus.EXPIRED not in allowed:
        require_active(card)
    if card.product.kind != CardKind.STORED_VALUE:
        raise NotStoredValueCard(extra={"card": card.number})
    return card


def require_active(card) -> None:
    """Refuse with the card's status code unless it is active and not past its expiry."""
    if card.status != CardStatus.ACTIVE:
        raise status_error(card)
    if card.expires_at is not None and card.expires_at <= timezone.now():
        raise status_error(Card(status=CardStatus.EXPIRED, number=card.number))


def card_accounts(card) -> dict:
    """{kind: Account} of the card's principal, bonus and hold-reserve accounts (opened if needed)."""
    kinds = (AccountKind.MEMBER_PRINCIPAL, AccountKind.MEMBER_BONUS, AccountKind.HOLD_RESERVE)
    return {kind: ledger.open_account(kind, card.merchant_id, card_id=card.pk) for kind in kinds}


def store_account(kind, store) -> Account:
    return ledger.open_account(kind, store.merchant_id, node=store)


def locked_balances(accounts) -> dict:
    """{kind: balance} read under the accounts' row locks (primary-key order)."""
    locked = ledger.lock_accounts(sorted(a.pk for a in accounts.values()))
    return {kind: locked[account.pk][1] for kind, account in accounts.items()}


def consumption_order(product) -> str:
    row = StoredValueSettings.objects.filter(product_id=product.pk).first()
    return row.consumption_order if row else ConsumptionOrder.PROPORTIONAL


def split_due(due, principal, bonus, order) -> tuple[int, int]:
    """(principal, bonus) taken for `due` by `order`; InsufficientBalance when the two do not cover it."""
    if principal + bonus < due:
        raise InsufficientBalance(extra={"available": principal + bonus, "requested": due})
    if order == ConsumptionOrder.PRINCIPAL_FIRST:
        from_principal = min(due, principal)
        return from_principal, due - from_principal
    if order == ConsumptionOrder.BONUS_FIRST:
        from_bonus = min(due, bonus)
        return due - from_bonus, from_bonus
    from_bonus = due * bonus // (principal + bonus)
    return due - from_bonus, from_bonus


def cumulative_share(done_after, whole, part, already) -> int:
    """This step's share of `part`: floor(done_after × part / whole) − what earlier steps took.

    Cumulative floors never decrease and reach `part` exactly when `done_after` reaches `whole`,
    so each step's share is ≥ 0 and the steps add up to `part` exactly.
    """
    return done_after * part // whole - already


def discounted(list_amount, member) -> tuple[int, Decimal]:
    """(due, rate): list × the member's tier discount rate, rounded half-up to the fen."""
    tier = member_tier(member) if member is not None else None
    rate = Decimal(tier.discount_rate) if tier is not None else Decimal(1)
    due = int((Decimal(list_amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return due, rate


def clearing_for(card, flows) -> list:
    """The clearing legs that settle `flows` with the card's home: [(node, fen)], + what the node's own
    accounts took in (the home owes it that), − what they gave out (it owes the home)."""
    by_node = {}
    for node, amount in flows:
        if amount:
            previous = by_node.get(node.pk, (node, 0))[1]
            by_node[node.pk] = (node, previous + amount)
    home, legs = None, []
    for node, amount in by_node.values():
        if amount and node.pk != card.issued_store_id:
            home = home or home_node(card)
            legs += clearing_legs(home, node, amount)
    return legs


def post_entry(kind, card, store, actor, legs, *, memo="", business_ref="", refers_to=None):
    """Post one entry of (Account, amount) legs; legs on the same account are added up, zeros dropped."""
    merged = {}
    for account, amount in legs:
        if amount:
            merged[account.pk] = merged.get(account.pk, 0) + amount
    legs = [Leg(pk, amount) for pk, amount in merged.items() if amount]
    return ledger.post(
        EntrySpec(
            kind=kind,
            merchant=card.merchant_id,
            node=store,
            actor=actor if actor is not None and actor.pk else None,
            memo=memo,
            business_ref=business_ref,
            legs=legs,
            refers_to=refers_to,
        )
    ).entry


def record(kind, card, store, actor, entry, **fields) -> CardTransaction:
    return CardTransaction.objects.create(
        kind=kind,
        card=card,
        member_id=card.member_id,
        store=store,
        actor=actor if actor is not None and actor.pk else None,
        entry=entry,
        idempotency_key=current_idempotency_key(),
        **fields,
    )


# ---- top-up ------------------------------------------------------------------------------------------


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


# ---- charge ------------------------------------------------------------------------------------------


def shanghai_day_start(now=None) -> datetime.datetime:
    local = (now or timezone.now()).astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def charged_today(card, now=None) -> int:
    """Sum of today's (Asia/Shanghai) charges and captures of the card, before refunds."""
    total = CardTransaction.objects.filter(
        card=card, kind__in=[CardTxKind.CHARGE, CardTxKind.CAPTURE], created_at__gte=shanghai_day_start(now)
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def check_daily_limit(card, amount):
    limit = card.effective_daily_charge_limit
    if limit is not None:
        used = charged_today(card)
        if used + amount > limit:
            raise DailyLimitExceeded(extra={"limit": limit, "used": used, "requested": amount})


def amount_due(card, list_amount) -> int:
    """What a charge of `list_amount` takes from the card after its member's tier discount."""
    check_amount(list_amount)
    due, _rate = discounted(list_amount, card.member)
    if due <= 0:
        raise InvalidAmount(extra={"amount": str(list_amount)})
    return due


def check_charge_password(card, list_amount, password=None) -> None:
    """The card password check of a charge (when the due amount passes the card's threshold).

    Its own durable transaction (a wrong try counts even if the sale is refused): the POS API
    calls it BEFORE run_idempotent, then charge(..., password_checked=True) inside.
    """
    card = Card.objects.select_related("product", "member").get(pk=card.pk)
    require_password_for_charge(card, amount_due(card, list_amount), password)


def charge(actor, card, list_amount, *, store, password=None, password_checked=False,
           business_ref="") -> CardTransaction:  # fmt: skip
    """消费: the tier discount applied, the amount due taken from principal and bonus into store revenue.

    Unless `password_checked`, the password is checked first (check_charge_password), which
    needs to run outside any transaction. Refusals: invalid_amount, card_* status codes,
    card_not_accepted_here, card_password_required / wrong_card_password, daily_limit_exceeded,
    insufficient_balance.

    At a store other than the card's home the entry carries the clearing legs (module doc); at the
    issuer's stores the charge earns points and the rebate in the same transaction (charge_rewards).

    Hot path (ARCHITECTURE.md, Performance): the card is read once, locked, with its product,
    product settings, member tier, the store's revenue account id, the ids of the clearing pair
    between the store and the card's home, and whether the merchant has earn or rebate rules (no
    rules: no further query); a charge that needs the password check leaves that transaction and
    takes the original path (check outside, then charge).
    """
    try:
        return _fast_charge(actor, card, list_amount, store=store, password_checked=password_checked,
                            business_ref=business_ref)  # fmt: skip
    except _PasswordCheckNeeded:
        pass
    card = Card.objects.select_related("product", "member").get(pk=card.pk)
    due = amount_due(card, list_amount)
    require_password_for_charge(card, due, password)
    return _charge(actor, card, list_amount, due, store=store, business_ref=business_ref)


class _PasswordCheckNeeded(Exception):
    """Raised inside _fast_charge's transaction (rolling it back) when the password must be checked first."""


def _lock_charge_card(card, store) -> Card:
    """The card's row locked (as cards.lock_cards) with product, settings, tier, revenue and clearing account ids.

    One plain-SQL statement (card_rows.py): the ORM's version of this read cost more to compile
    than the rest of the charge. The facts ride on the card as underscore attributes.
    """
    read = card_rows.lock_charge_card(card.pk, store)
    card = read.card
    card._product_has_stores = read.product_has_stores
    card._revenue_account_id = read.revenue_account_id
    card._earns_points = read.earns_points
    card._has_rebates = read.has_rebates
    card._home_clearing_id = read.home_clearing_id
    card._store_clearing_id = read.store_clearing_id
    card._discount_rate = read.discount_rate
    card._consumption_order = read.consumption_order
    card._member_facts = (read.tier, read.birthday)
    card._points_accounts = read.points_accounts
    return card


def _accepts_store(product, has_stores, store) -> bool:
    """product.accepts_store(store), without the store-list query when the product has no store list."""
    if not has_stores and store.merchant_id == product.merchant_id:
        return True
    return product.accepts_store(store)


def _lock_card_balances(card):
    """{kind: (account id, balance)} of the card's principal and bonus, locked in primary-key order.

    The same rows and order as locked_balances(card_accounts(card)) minus the hold reserve, found
    by key in the locking statement itself; accounts not opened yet are opened, then locked.
    """
    kinds = (AccountKind.MEMBER_PRINCIPAL, AccountKind.MEMBER_BONUS)
    keys = {ledger.account_key(kind, card.merchant_id, card_id=card.pk): kind for kind in kinds}
    table = connection.ops.quote_name(Account._meta.db_table)
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT id, key, balance FROM {table} WHERE key IN (%s, %s) ORDER BY id{lock}"
    with connection.cursor() as cursor:
        cursor.execute(sql, list(keys))
        found = {keys[key]: (pk, balance) for pk, key, balance in cursor.fetchall()}
    if len(found) == len(kinds):
        return found
    accounts = {kind: ledger.open_account(kind, card.merchant_id, card_id=card.pk) for kind in kinds}
    balances = locked_balances(accounts)
    return {kind: (accounts[kind].pk, balances[kind]) for kind in kinds}


@transaction.atomic
def _fast_charge(
    actor, card, list_amount, *, store, password_checked, business_ref, discount=True, with_rewards=True
):
    card = _lock_charge_card(card, store)
    # As amount_due and the password check of charge(), in the same order.
    check_amount(list_amount)
    rate = card._discount_rate if discount else Decimal(1)
    due = int((Decimal(list_amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if due <= 0:
        raise InvalidAmount(extra={"amount": str(list_amount)})
    if not password_checked and card.password_required_for(due):
        raise _PasswordCheckNeeded()
    # As lock_usable_card(card, store=store).
    if not _accepts_store(card.product, card._product_has_stores, store):
        raise CardNotAccepted(extra={"card": card.number})
    if card.status != CardStatus.ACTIVE:
        raise status_error(card)
    require_active(card)
    if card.product.kind != CardKind.STORED_VALUE:
        raise NotStoredValueCard(extra={"card": card.number})
    check_daily_limit(card, due)
    locked = _lock_card_balances(card)
    revenue_id = card._revenue_account_id
    if revenue_id is None:
        revenue_id = store_account(AccountKind.STORE_REVENUE, store).pk
    (principal_id, principal_balance), (bonus_id, bonus_balance) = (
        locked[AccountKind.MEMBER_PRINCIPAL],
        locked[AccountKind.MEMBER_BONUS],
    )
    principal, bonus = split_due(due, principal_balance, bonus_balance, card._consumption_order)
    legs = [
        (Account(pk=principal_id), -principal),
        (Account(pk=bonus_id), -bonus),
        (Account(pk=revenue_id), due),
    ]
    if card.issued_store_id != store.pk:  # the home owes the charging store (clearing.py)
        if card._home_clearing_id is not None and card._store_clearing_id is not None:
            legs += [(Account(pk=card._home_clearing_id), due), (Account(pk=card._store_clearing_id), -due)]
        else:  # first time for this pair, or another merchant's store: open the accounts
            legs += clearing_legs(card.issued_store, store, due)
    entry = post_entry(EntryKind.CHARGE, card, store, actor, legs, memo=f"charge {card.number}",
                       business_ref=business_ref)  # fmt: skip
    rewards = {}
    if with_rewards:  # pay() leaves points to the checkout that called it
        rewards = charge_rewards(actor, card, store, due, business_ref=business_ref, refers_to=entry,
                                 earns=card._earns_points, has_rebates=card._has_rebates)  # fmt: skip
    return record(
        CardTxKind.CHARGE, card, store, actor, entry, amount=due, principal=principal, bonus=bonus,
        discount=list_amount - due, list_amount=list_amount, business_ref=business_ref, **rewards,
    )  # fmt: skip


@transaction.atomic
def _charge(actor, card, list_amount, due, *, store, business_ref):
    card = lock_usable_card(card, store=store)
    check_daily_limit(card, due)
    accounts = card_accounts(card)
    revenue = store_account(AccountKind.STORE_REVENUE, store)
    balances = locked_balances(accounts)
    order = consumption_order(card.product)
    principal, bonus = split_due(
        due, balances[AccountKind.MEMBER_PRINCIPAL], balances[AccountKind.MEMBER_BONUS], order
    )
    legs = [
        (accounts[AccountKind.MEMBER_PRINCIPAL], -principal),
        (accounts[AccountKind.MEMBER_BONUS], -bonus),
        (revenue, due),
    ]
    legs += clearing_for(card, [(store, due)])
    entry = post_entry(EntryKind.CHARGE, card, store, actor, legs, memo=f"charge {card.number}",
                       business_ref=business_ref)  # fmt: skip
    rewards = charge_rewards(actor, card, store, due, business_ref=business_ref, refers_to=entry)
    return record(
        CardTxKind.CHARGE, card, store, actor, entry, amount=due, principal=principal, bonus=bonus,
        discount=list_amount - due, list_amount=list_amount, business_ref=business_ref, **rewards,
    )  # fmt: skip


def pay(actor, card, amount, *, store, business_ref="") -> CardTransaction:
    """A checkout's stored-value tender: exactly `amount` fen taken, no tier discount, no points or rebate.

    The checkout prices already hold the member price and tier discount, and it earns points on the
    whole sale itself, so this is a charge without either. The card password is not asked here (it
    runs inside the checkout's transaction): the caller checks it before (check_pay_password).
    Refused like charge(); refunded with refund() like any charge.
    """
    return _fast_charge(actor, card, amount, store=store, password_checked=True, business_ref=business_ref,
                        discount=False, with_rewards=False)  # fmt: skip


def check_pay_password(card, amount, password=None) -> None:
    """The card password check of pay() (outside any transaction, before the checkout, like check_charge_password)."""
    card = Card.objects.select_related("product", "member").get(pk=card.pk)
    require_password_for_charge(card, check_amount(amount), password)


def charge_rewards(actor, card, store, due, *, business_ref="", refers_to=None, earns=None,
                   has_rebates=None) -> dict:  # fmt: skip
    """Points earned and the rebate of a charge or capture of `due` at `store`, as CardTransaction fields.

    Runs inside the charge's transaction, after its entry, with the card locked. Only at the
    issuer's own stores (see the module doc). `earns` / `has_rebates`: whether the merchant has
    active earn / rebate rules, when the caller already knows (None: asked here).
    """
    if store.merchant_id != card.merchant_id:
        return {}
    fields = {}
    if earns is None:
        earns = PointsEarnRule.objects.filter(merchant_id=card.merchant_id, is_active=True).exists()
    if earns:
        try:
            earned = points.earn_for_spend(
                actor, card, due, store=store, business_ref=business_ref, card_locked=True,
                known=getattr(card, "_member_facts", None),
            )  # fmt: skip
        except points.PointsRateMissing:  # no rule for this store or day: the charge earns nothing
            earned = None
        if earned is not None and earned.points:
            fields.update(points_earned=earned.points, points_lot=earned.lot)
    if has_rebates is None:
        has_rebates = RebateRule.objects.filter(merchant_id=card.merchant_id, is_active=True).exists()
    if has_rebates:
        fields.update(rebates.grant(actor, card, store, due, business_ref=business_ref, refers_to=refers_to))
    return fields


def reverse_rewards(actor, original, refunded_before, amount, *, business_ref="") -> dict:
    """Take back the points (earned and rebate) of `original` for a refund of `amount`; CardTransaction fields.

    Cumulative floors over the original's amount; points.reverse_earn takes them off the card
    (never below zero) and reports the part already spent, summed into points_shortfall.
    """
    fields, shortfall = {}, 0
    memo = f"refund of #{original.pk}"
    for part, lot_field, field in (
        (original.points_earned, "points_lot", "points_reversed"),
        (original.rebate_points, "rebate_lot", "rebate_points"),
    ):
        if not part or getattr(original, f"{lot_field}_id") is None:
            continue
        already = refunded_before * part // original.amount
        share = rebates.share_back(refunded_before, amount, original.amount, part, already)
        if share:
            lot = getattr(original, lot_field)
            taken = points.reverse_earn(actor, lot, share, business_ref=business_ref, memo=memo)
            fields[field] = share
            shortfall += taken.shortfall
    if shortfall:
        fields["points_shortfall"] = shortfall
    return fields


# ---- refunds -----------------------------------------------------------------------------------------


def lock_original(original, kinds) -> CardTransaction:
    """The original transaction's row, locked (after its card), checked to be of one of `kinds`."""
    row = CardTransaction.objects.select_for_update().get(pk=original.pk)
    if row.kind not in kinds:
        raise NotRefundable(extra={"kind": row.kind})
    return row


def refunded_parts(original) -> tuple[int, int]:
    """(principal, bonus) already given back or withdrawn by refunds of `original`."""
    sums = CardTransaction.objects.filter(original=original, kind=CardTxKind.REFUND).aggregate(
        p=Sum("principal"), b=Sum("bonus")
    )
    return sums["p"] or 0, sums["b"] or 0


def rebate_bonus_taken_back(original) -> int:
    """The bonus rebate of `original` that its refunds took back so far (fen)."""
    total = CardTransaction.objects.filter(original=original, kind=CardTxKind.REFUND).aggregate(
        b=Sum("rebate_bonus")
    )["b"]
    return total or 0


def _remaining(original, amount):
    remaining = original.amount - original.refunded_total
    amount = remaining if amount is None else check_amount(amount)
    if amount <= 0 or amount > remaining:
        raise OverRefund(extra={"requested": amount, "remaining": remaining})
    return amount


@transaction.atomic
def refund(actor, original_charge, amount=None, *, store, reason, business_ref="") -> CardTransaction:
    """退款 of a charge or capture, in part or in full (amount None: what remains).

    Principal and bonus go back to the card in the proportion the original took them; the
    refund that completes the original takes the exact remainder. Refused with over_refund
    beyond what was taken minus what was refunded already. The refunded amount leaves the
    original store's revenue (cleared with the card's home); the points the original earned and
    its rebate are taken back in proportion (module doc), in the same transaction.
    """
    card = current_card(original_charge.card)
    card = lock_usable_card(card, allowed=(CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.EXPIRED))
    original = lock_original(original_charge, {CardTxKind.CHARGE, CardTxKind.CAPTURE})
    if store.merchant_id != original.store.merchant_id:
        # The refund comes out of the original store's revenue: only that merchant's stores give it.
        raise NotRefundable(extra={"kind": original.kind, "reason": "other_merchant"})
    amount = _remaining(original, amount)
    refunded_before = original.refunded_total
    _done_principal, done_bonus = refunded_parts(original)
    bonus = cumulative_share(refunded_before + amount, original.amount, original.bonus, done_bonus)
    principal = amount - bonus
    accounts = card_accounts(card)
    revenue = store_account(AccountKind.STORE_REVENUE, original.store)
    legs = [
        (accounts[AccountKind.MEMBER_PRINCIPAL], principal),
        (accounts[AccountKind.MEMBER_BONUS], bonus),
        (revenue, -amount),
    ]
    flows = [(original.store, -amount)]
    rebate_back = 0
    if original.rebate_bonus:
        share = cumulative_share(
            refunded_before + amount,
            original.amount,
            original.rebate_bonus,
            rebate_bonus_taken_back(original),
        )
        # Never below zero: what the card holds after this refund's own bonus comes back.
        held = locked_balances({"bonus": accounts[AccountKind.MEMBER_BONUS]})["bonus"]
        rebate_back = max(0, min(share, held + bonus))
        if rebate_back:
            expense = store_account(AccountKind.BONUS_EXPENSE, original.store)
            legs += [(accounts[AccountKind.MEMBER_BONUS], -rebate_back), (expense, rebate_back)]
            flows.append((original.store, rebate_back))
    legs += clearing_for(card, flows)
    entry = post_entry(EntryKind.REFUND, card, store, actor, legs, memo=f"refund of #{original.pk}: {reason}",
                       business_ref=business_ref, refers_to=original.entry_id)  # fmt: skip
    rewards = reverse_rewards(actor, original, refunded_before, amount, business_ref=business_ref)
    original.refunded_total += amount
    original.save(update_fields=["refunded_total"])
    return record(
        CardTxKind.REFUND, card, store, actor, entry, amount=amount, principal=principal, bonus=bonus,
        original=original, reason=reason[:200], business_ref=business_ref, rebate_bonus=rebate_back, **rewards,
    )  # fmt: skip


@transaction.atomic
def refund_topup(actor, original_topup, amount=None, *, store, reason, method="bank",
                 business_ref="") -> CardTransaction:  # fmt: skip
    """Pay back principal of a top-up (CHINA-RULES): principal only leaves; the top-up's bonus is withdrawn.

    `amount` (None: what remains) is principal paid out to the holder by `method` (bank, cash,
    original); cash is refused above ¥100. The bonus withdrawn is proportional to the top-up's
    bonus, capped at the card's bonus balance (never below zero). The payout leaves the store's cash
    (cleared with the card's home: the home owes that store the payout); only at the issuer's stores.
    """
    if method not in REFUND_TENDERS:
        raise BusinessError(code="invalid_refund_method", extra={"method": method})
    card = current_card(original_topup.card)
    allowed = (CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.EXPIRED, CardStatus.CANCELLED)
    card = lock_usable_card(card, allowed=allowed)
    if store.merchant_id != card.merchant_id:  # prepaid funds are paid back by the issuer
        raise CardNotAccepted(extra={"card": card.number})
    original = lock_original(original_topup, {CardTxKind.TOPUP})
    amount = _remaining(original, amount)
    prepaid_rules.check_cash_refund(card.merchant_id, amount, method)
    _done_principal, done_bonus = refunded_parts(original)
    bonus = cumulative_share(original.refunded_total + amount, original.principal, original.bonus, done_bonus)
    accounts = card_accounts(card)
    balances = locked_balances(accounts)
    bonus = max(0, min(bonus, balances[AccountKind.MEMBER_BONUS]))
    cash = store_account(AccountKind.STORE_CASH, store)
    expense = store_account(AccountKind.BONUS_EXPENSE, original.store)
    legs = [(accounts[AccountKind.MEMBER_PRINCIPAL], -amount), (cash, amount)]
    if bonus:
        legs += [(accounts[AccountKind.MEMBER_BONUS], -bonus), (expense, bonus)]
    legs += clearing_for(card, [(store, amount), (original.store, bonus)])
    entry = post_entry(EntryKind.REFUND, card, store, actor, legs, memo=f"top-up refund #{original.pk}: {reason}",
                       business_ref=business_ref, refers_to=original.entry_id)  # fmt: skip
    original.refunded_total += amount
    original.save(update_fields=["refunded_total"])
    return record(
        CardTxKind.REFUND, card, store, actor, entry, amount=amount, principal=amount, bonus=bonus,
        original=original, tender=method, reason=reason[:200], business_ref=business_ref,
    )  # fmt: skip
