"""消费: charging a stored-value card, at the till, through the POS API or as a checkout's tender.

One implementation: read everything the charge needs once, under the card's row lock, into a
ChargeContext (fetch.py), then check, split, post one entry, earn the rewards and write one
CardTransaction. The rules (tier discount, consumption order, daily limit, password, clearing)
are in docs/money.md.
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Sum
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from onecard.loyalty.cards import qr
from onecard.loyalty.cards.numbers import is_valid_number, normalize_number
from onecard.loyalty.cards.services import require_password_for_charge, resolve_card
from onecard.loyalty.ledger.card_entries import clearing_for, post_entry, record, store_account
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.errors import InvalidAmount
from onecard.loyalty.models import Account, Card
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
from onecard.loyalty.stored_value import charge_rows
from onecard.loyalty.stored_value.amounts import apply_rate, check_amount, discounted, split_due
from onecard.loyalty.stored_value.card_checks import require_usable
from onecard.loyalty.stored_value.errors import DailyLimitExceeded
from onecard.loyalty.stored_value.fetch import ChargeContext, fetch_charge_context
from onecard.loyalty.stored_value.rewards import charge_rewards

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_day_start(now=None) -> datetime.datetime:
    """Midnight (Asia/Shanghai) of the day of `now`: where a card's daily charge limit restarts."""
    local = (now or timezone.now()).astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def charged_today(card, now=None) -> int:
    """Sum of today's (Asia/Shanghai) charges and captures of the card, before refunds."""
    total = CardTransaction.objects.filter(
        card=card, kind__in=[CardTxKind.CHARGE, CardTxKind.CAPTURE], created_at__gte=shanghai_day_start(now)
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def check_daily_limit(card, amount):
    """Refuse with daily_limit_exceeded when `amount` more would pass the card's daily charge limit."""
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

    Its own durable transaction (a wrong try counts even if the sale is refused): call it BEFORE
    the charge's transaction (the POS API: before run_idempotent), then charge(..., password_checked=True).
    """
    card = Card.objects.select_related("product", "member").get(pk=card.pk)
    require_password_for_charge(card, amount_due(card, list_amount), password)


def charge(actor, card, list_amount, *, store, password=None, password_checked=False,
           business_ref="") -> CardTransaction:  # fmt: skip
    """消费: the tier discount applied, the amount due taken from principal and bonus into store revenue.

    A given `password` is checked first, in its own durable transaction (check_charge_password),
    so this must then run outside any transaction. Without one, a charge whose amount needs the
    password is refused with card_password_required. Other refusals: invalid_amount, card_* status
    codes, card_not_accepted_here, wrong_card_password, daily_limit_exceeded, insufficient_balance.
    At another store the entry carries the clearing legs; at the issuer's stores the charge earns
    points and the rebate in the same transaction (charge_rewards).
    """
    if not password_checked and password:
        check_charge_password(card, list_amount, password)
        password_checked = True
    with transaction.atomic():
        return _charge(actor, card, list_amount, store=store, password_checked=password_checked,
                       business_ref=business_ref)  # fmt: skip


def charge_within(actor, card, list_amount, *, store, business_ref="") -> CardTransaction:
    """charge() as one step of the caller's open transaction (sales.charge_card), without a savepoint of its own.

    The caller checked the password before (check_charge_password) and undoes its transaction or
    savepoint on a refusal: a savepoint here would be a second one around the same work.
    """
    _require_callers_transaction("charge_within")
    return _charge(actor, card, list_amount, store=store, password_checked=True, business_ref=business_ref)


@dataclass(frozen=True)
class Paid:
    """A checkout's stored-value tender as taken: its card transaction, and what the charge read and locked."""

    transaction: CardTransaction
    context: ChargeContext


def pay(actor, card, amount, *, store, business_ref="") -> Paid:
    """A checkout's stored-value tender: exactly `amount` fen taken, no tier discount, no points or rebate.

    The checkout prices already hold the member price and tier discount, and it earns points on the
    whole sale itself, so this is a charge without either; the context it returns lets the checkout
    earn them on the card and accounts already locked. A step of the checkout's own transaction, with
    no savepoint: a refusal undoes the whole checkout. The card password is not asked here: the
    caller checks it before (check_pay_password). Refused like charge(); refunded with refund().
    """
    _require_callers_transaction("pay")
    context = fetch_charge_context(card.pk, store)
    tx = _charge(actor, card, amount, store=store, password_checked=True, business_ref=business_ref,
                 discount=False, with_rewards=False, context=context)  # fmt: skip
    return Paid(tx, context)


def _require_callers_transaction(name) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError(f"{name} runs inside the caller's transaction")


def check_pay_password(card, amount, password=None) -> None:
    """The card password check of pay() (outside any transaction, before the checkout, like check_charge_password)."""
    card = Card.objects.select_related("product", "member").get(pk=card.pk)
    require_password_for_charge(card, check_amount(amount), password)


def _charge(actor, card, list_amount, *, store, password_checked, business_ref, discount=True,
            with_rewards=True, context=None) -> CardTransaction:  # fmt: skip
    """The charge itself, in the caller's transaction: one read (fetch_charge_context), the checks in order, one entry.

    `context`: that read, when the caller made it (pay() hands it on to the checkout).
    """
    context = context or fetch_charge_context(card.pk, store)
    card = context.card
    check_amount(list_amount)
    due = apply_rate(list_amount, context.discount_rate) if discount else list_amount
    if due <= 0:
        raise InvalidAmount(extra={"amount": str(list_amount)})
    if not password_checked:  # no password given: refused when this amount needs one
        require_password_for_charge(card, due)
    require_usable(card, store=store, accepted=context.accepts_store())
    check_daily_limit(card, due)
    principal, bonus = split_due(
        due, context.principal.balance, context.bonus.balance, context.consumption_order
    )
    entry = post_entry(EntryKind.CHARGE, card, store, actor, charge_legs(context, due, principal, bonus),
                       memo=f"charge {card.number}", business_ref=business_ref, held=context.held)  # fmt: skip
    rewards = {}
    if with_rewards:  # pay() leaves points to the checkout that called it
        rewards = charge_rewards(actor, card, store, due, business_ref=business_ref, refers_to=entry,
                                 context=context)  # fmt: skip
    return record(
        CardTxKind.CHARGE, card, store, actor, entry, amount=due, principal=principal, bonus=bonus,
        discount=list_amount - due, list_amount=list_amount, business_ref=business_ref, **rewards,
    )  # fmt: skip


def charge_legs(context: ChargeContext, due, principal, bonus) -> list:
    """[(Account, amount)] of a charge: principal and bonus into the store's revenue, plus the clearing pair."""
    revenue_id = context.revenue_account_id
    if revenue_id is None:  # the store's first charge
        revenue_id = store_account(AccountKind.STORE_REVENUE, context.store).pk
    legs = [
        (Account(pk=context.principal.id), -principal),
        (Account(pk=context.bonus.id), -bonus),
        (Account(pk=revenue_id), due),
    ]
    if not context.at_home():  # the home owes the charging store (docs/money.md, Clearing)
        if context.home_clearing_id is not None and context.store_clearing_id is not None:
            legs += [
                (Account(pk=context.home_clearing_id), due),
                (Account(pk=context.store_clearing_id), -due),
            ]
        else:  # first time for this pair, or another merchant's store: open the accounts
            legs += clearing_for(context.card, [(context.store, due)])
    return legs


# ---- the POS API's charge ------------------------------------------------------------------------


@dataclass(frozen=True)
class TerminalCard:
    """What a terminal named for a charge: the text it sent, and the card found by number or RFID.

    `card` is None for a dynamic QR code (spent only by the charge itself) and for a number no
    card of this store's reach has: the charge resolves those (resolve_card) and refuses with its codes.
    """

    card_no: str
    card: Card | None


def card_for_password(card_no, store) -> Card | None:
    """The card behind `card_no` without spending a QR code; None when unknown or not usable at `store`.

    The hot path: one light read (charge_rows.find_card). Most cards have no password; they are
    charged as Card(pk=...) and the charge's own locking read checks status, expiry and store.
    """
    text = (card_no or "").strip()
    if text.startswith(qr.PREFIX):
        try:
            return qr.verify_qr(text, consume=False)
        except Exception:  # noqa: BLE001 - a bad QR is refused by the charge itself
            return None
    number = normalize_number(text)
    if is_valid_number(number):
        found = charge_rows.find_card("number", number)
    elif text:
        found = charge_rows.find_card("rfid_uid", text.upper())
    else:
        return None
    if found is None:
        return None
    if not found.password_hash:
        return Card(pk=found.id)
    card = Card.objects.select_related("product").get(pk=found.id)
    usable = card.merchant_id == store.merchant_id or card.product.accepts_store(store)
    return card if usable else None


def prepare_terminal_charge(card_no, list_amount, *, store, password=None) -> TerminalCard:
    """Find the card a terminal of `store` charges, and check its password when it has one.

    Runs BEFORE the API's idempotent run: the password check commits its own count of wrong tries.
    """
    card = card_for_password(card_no, store)
    if card is not None and card.password_hash:  # without a password there is nothing to check
        check_charge_password(card, list_amount, password)
    by_number = card is not None and not card_no.strip().startswith(qr.PREFIX)
    return TerminalCard(card_no=card_no, card=card if by_number else None)


def terminal_card(target: TerminalCard, *, store) -> Card:
    """The card to charge (inside the API's idempotent run): a card found by number is charged as it is;
    a QR code or an unknown number goes through resolve_card (spending the QR code, or refusing)."""
    return target.card if target.card is not None else resolve_card(target.card_no, store=store)


def charge_at_terminal(target: TerminalCard, list_amount, *, store, business_ref="") -> CardTransaction:
    """The POS API's charge of `target` (its password checked by prepare_terminal_charge)."""
    card = terminal_card(target, store=store)
    return charge(None, card, list_amount, store=store, password_checked=True, business_ref=business_ref)
