"""Checkout (L5): quote a cart, then take a multi-tender payment and record its sale in one transaction.

The rules (prices, tenders, points earned, limited promotions) are in docs/sales.md, "Checkout".
Returns of a checkout are sales.returns; the sale of a plain charge, capture or package use is
recorded by sales.services.
"""

import dataclasses
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.catalog.errors import InvalidQuantity
from onecard.catalog.models import Product
from onecard.catalog.queries import products_for_codes
from onecard.core import audit, rows
from onecard.core.money import fen_to_yuan_str
from onecard.loyalty.cards.choices import CardKind
from onecard.loyalty.cards.errors import CardNotAccepted
from onecard.loyalty.cards.services import card_balances
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Card
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers.services import member_tier
from onecard.members.models import Member
from onecard.promotions import coupon_redemption, coupons, pricing, pricing_snapshot, rules
from onecard.promotions.cart import Cart, Quote
from onecard.promotions.cart_lines import cart_line
from onecard.sales import invoicing, signals
from onecard.sales.errors import (
    BusinessRefRequired,
    BusinessRefTooLong,
    CardRequired,
    CashReceivedShort,
    EmptyCart,
    InvalidTender,
    PointsOverCap,
    SaleExists,
    TendersMismatch,
    UnknownSku,
    coupon_refused,
)
from onecard.sales.models import Sale, SaleKind, SaleLine, SaleTender, TenderKind

EXTERNAL = (TenderKind.CASH, TenderKind.BANK_CARD, TenderKind.WECHAT, TenderKind.ALIPAY)
# What a checkout may be paid with (a package pays only for its own uses: sales.services).
CHECKOUT_TENDERS = frozenset({TenderKind.STORED_VALUE, TenderKind.POINTS, *EXTERNAL})
# The ledger keeps 64 characters of a reference; a return posts "<sale ref>/R<n>".
MAX_SALE_REF = 56


@dataclasses.dataclass
class CheckoutQuote:
    """A priced cart plus what the member may pay with and earn (see the module doc)."""

    quote: Quote
    points_to_earn: int  # the most: if the whole amount due is paid without bonus value or points
    max_points: int  # points that may be used
    max_points_cash: int  # their cash value, fen
    max_stored_value: int  # principal + bonus on the card, fen

    @property
    def total_due(self) -> int:
        return self.quote.total_due


def _whole(value) -> bool:
    """An int that is not a bool (True would pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _product(found, text):
    """The product a line's SKU or barcode names, from `found` (catalog.queries.products_for_codes)."""
    text = str(text or "").strip()
    product = found.get(text) if text else None
    if product is None:
        raise UnknownSku(extra={"sku": text})
    return product


_UNREAD = object()


def _build_cart(store, member, items, offers, at, tier=_UNREAD) -> Cart:
    """The engine's cart for `items` [(sku or barcode, quantity)] bought by `member` (None: anonymous)."""
    if not items:
        raise EmptyCart()
    if tier is _UNREAD:
        tier = member_tier(member) if member is not None else None
    pairs = [(text, quantity) for text, quantity in items]
    # One query for every line's product with its member price, not two per line.
    found = products_for_codes(store, [str(text or "").strip() for text, _quantity in pairs], tier)
    prices = {p.pk: p.tier_price for p in found.values() if getattr(p, "tier_price", None) is not None}
    lines = []
    for number, (text, quantity) in enumerate(pairs, start=1):
        if not _whole(quantity) or quantity <= 0:
            raise InvalidQuantity(extra={"sku": str(text)})
        lines.append(cart_line(_product(found, text), quantity, tier, number, prices=prices))
    rate = None
    if tier is not None and Decimal(tier.discount_rate) < 1:
        rate = str(tier.discount_rate)
    return Cart(
        merchant_id=store.merchant_id,
        store_id=store.pk,
        at=at,
        lines=tuple(lines),
        member_id=getattr(member, "pk", None),
        tier_id=getattr(tier, "pk", None),
        tier_discount_rate=rate,
        birthday=getattr(member, "birthday", None),
        coupons=tuple(offers),
    )


@dataclasses.dataclass
class Priced:
    """A cart priced for a sale: the engine's cart, its quote and the promotions in force."""

    cart: Cart
    quote: Quote
    promotions: list


def _price(merchant, store, member, items, offers, at, tier=_UNREAD) -> Priced:
    """The cart priced with the store's promotions and the member's used counts."""
    cart = _build_cart(store, member, items, offers, at, tier)
    promotions = rules.active_promotions(merchant, store, at)
    # Stock and member caps only matter for the limited promotions that can touch this cart.
    limited = [p for p in promotions if p.stock_total is not None or p.per_member_limit is not None]
    used = rules.used_counts(pricing.touching(cart, limited), member) if limited else {}
    return Priced(cart, pricing.price_cart(cart, promotions, used_counts=used), promotions)


def _holder(card_or_member):
    """(card, member) of a quote's buyer: a card and its member, a member without a card, or nobody."""
    if isinstance(card_or_member, Card):
        return card_or_member, card_or_member.member
    if isinstance(card_or_member, Member):
        return None, card_or_member
    return None, None


def _check_card(card, store):
    """Refuse a card of another merchant (alliance cards are not taken at checkout yet)."""
    if card is not None and card.merchant_id != store.merchant_id:
        raise CardNotAccepted(extra={"card": card.number})


def quote(merchant, store, card_or_member, items, coupon_codes=(), at=None) -> CheckoutQuote:
    """Price a cart for a card, a member or nobody (no writes); unusable coupons land in `coupons_refused`."""
    at = at or timezone.now()
    card, member = _holder(card_or_member)
    _check_card(card, store)
    offers, refused = coupon_redemption.sort_codes(member, store, at, list(coupon_codes or ()))
    # The tier is read once: for member prices and the tier discount, then for the points multiplier.
    tier = member_tier(member) if member is not None else None
    quoted = _price(merchant, store, member, items, offers, at, tier).quote
    quoted.coupons_refused = {**refused, **quoted.coupons_refused}
    due = quoted.total_due
    earn = max_points = max_cash = max_sv = 0
    if card is not None:
        if due > 0:
            known = (tier, getattr(member, "birthday", None))
            try:
                earn = points.points_for_spend(card, due, store=store, at=at, known=known).points
            except points.PointsRateMissing:
                earn = 0
        max_points, max_cash = points.max_redeemable(card, due, now=at)
        if card.product.kind == CardKind.STORED_VALUE:
            balances = card_balances(card)
            max_sv = balances.get(AccountKind.MEMBER_PRINCIPAL, 0) + balances.get(AccountKind.MEMBER_BONUS, 0)
            max_sv = min(max_sv, due)
    return CheckoutQuote(quoted, earn, max_points, max_cash, max_sv)


def _parse_tenders(tenders) -> dict:
    """{kind: value} checked: known kinds, whole positive values; refused with invalid_tender."""
    if not isinstance(tenders, dict):
        raise InvalidTender()
    parsed = {}
    for kind, value in tenders.items():
        if kind not in CHECKOUT_TENDERS or not _whole(value) or value <= 0:
            raise InvalidTender(extra={"tender": str(kind)})
        parsed[kind] = value
    return parsed


@dataclasses.dataclass
class Tenders:
    """A checkout's tenders, checked against the amount due: what each ledger tender takes, and the rest."""

    paid: dict  # {kind: value} as given
    sv_amount: int  # stored value, fen
    points_spent: int  # points
    points_cash: int  # their cash value, fen
    cash_received: int  # notes handed over for the cash tender (0: not recorded)


@transaction.atomic
def checkout(
    actor,
    *,
    store,
    card,
    items,
    coupon_codes=(),
    tenders,
    business_ref,
    at=None,
    member=None,
    cash_received=None,
) -> Sale:
    """Price the cart again, take the limited promotions and coupons, then every tender; all or nothing.

    The buyer: `card` (its member), or a `member` without a card (member prices, coupons and
    per-member caps apply; stored value and points need the card), or neither (anonymous).
    `cash_received`: the notes handed over for the cash tender, kept to print the change (at least
    the cash tender: cash_received_short).

    Refusals (nothing taken): business_ref_required, sale_exists, invalid_tender, unknown_sku,
    invalid_quantity, empty_cart, the coupon codes (coupon_expired, coupon_min_spend, ...),
    card_required, points_over_cap, tenders_mismatch, promotion_sold_out / promotion_member_limit,
    and the ledger's own (insufficient_balance, insufficient_points, card status...).
    """
    business_ref = _clean_ref(business_ref)
    paid = _parse_tenders(tenders)
    at = at or timezone.now()
    card, member = _buyer(store, card, member)
    if Sale.objects.filter(
        merchant_id=store.merchant_id, business_ref=business_ref, kind=SaleKind.CHECKOUT
    ).exists():
        raise SaleExists(extra={"business_ref": business_ref})
    priced = _price_for_sale(store, member, items, coupon_codes, at)
    quoted = priced.quote
    checked = _check_tenders(store, card, paid, quoted.total_due, cash_received)
    limited = _take_offers(actor, store, member, quoted, priced.promotions, business_ref, at)
    sale, lines = _record_sale(
        actor, store, card, member, business_ref, priced, limited, checked.cash_received
    )
    posted = _post_tenders(actor, sale, card, store, checked)
    invoicing.record_sale(sale, tenders=posted.tenders)
    _earn_points(actor, sale, card, store, checked.points_cash, posted)
    signals.sale_recorded.send(Sale, sale=sale, lines=lines)
    if member is not None and sale.total_due > 0:
        coupons.issue_after_spend(member, sale.total_due, business_ref, at=at)
    audit.record(
        actor,
        "create",
        sale,
        after={
            "business_ref": business_ref,
            "total_due": sale.total_due,
            "tenders": paid,
            "coupons": sale.coupons,
        },
        node=store,
        merchant=store.merchant,
    )
    return sale


def _clean_ref(business_ref) -> str:
    """The sale's reference, stripped; refused when empty or longer than the ledger can carry with a return's suffix."""
    business_ref = (business_ref or "").strip()
    if not business_ref:
        raise BusinessRefRequired()
    if len(business_ref) > MAX_SALE_REF:
        raise BusinessRefTooLong(extra={"max_length": MAX_SALE_REF})
    return business_ref


def _buyer(store, card, member):
    """(card, member) re-read for the sale: the card's holder, or a member of the store's merchant, or nobody."""
    if card is not None:
        card = Card.objects.select_related("member", "product").get(pk=card.pk)
    _check_card(card, store)
    if card is not None:
        return card, card.member
    if member is not None:
        member = Member.objects.get(pk=member.pk)
        if member.merchant_id != store.merchant_id:
            raise CardNotAccepted(extra={"member": member.member_no})
    return None, member


def _price_for_sale(store, member, items, coupon_codes, at) -> Priced:
    """The cart priced again inside the transaction; the first refused coupon refuses the sale."""
    offers = coupon_redemption.offers_for(member, store, at, list(coupon_codes or ()))
    priced = _price(store.merchant, store, member, items, offers, at)
    if priced.quote.coupons_refused:
        code, error = next(iter(priced.quote.coupons_refused.items()))
        raise coupon_refused(error, code)
    return priced


def _check_tenders(store, card, paid, due, cash_received) -> Tenders:
    """The tenders checked against the amount due (points at a fair count and under the cap, cash received)."""
    sv_amount = paid.get(TenderKind.STORED_VALUE, 0)
    points_spent = paid.get(TenderKind.POINTS, 0)
    if card is None and (sv_amount or points_spent):
        raise CardRequired()
    points_cash = points.points_to_cash(store.merchant_id, points_spent) if points_spent else 0
    fair = points.cash_to_points(store.merchant_id, points_cash)
    if points_spent and fair != points_spent:
        # Points beyond what their cash value needs would be lost to the member.
        message = _("%(points)s points are worth %(cash)s; use %(fair)s points for that amount.") % {
            "points": points_spent,
            "cash": f"¥{fen_to_yuan_str(points_cash)}",
            "fair": fair,
        }
        raise InvalidTender(message, extra={"tender": "points", "points": fair})
    cap = points.bill_cap(points.policy_for(store.merchant_id), due)
    if points_cash > cap:
        raise PointsOverCap(extra={"cap": cap})
    tendered = sv_amount + points_cash + sum(paid.get(kind, 0) for kind in EXTERNAL)
    if tendered != due:
        raise TendersMismatch(extra={"due": due, "tendered": tendered})
    _check_cash_received(paid.get(TenderKind.CASH, 0), cash_received)
    return Tenders(paid, sv_amount, points_spent, points_cash, cash_received or 0)


def _check_cash_received(cash, cash_received) -> None:
    """The notes handed over: a whole amount, at least the cash tender, and only with a cash tender."""
    if cash_received is not None and (not _whole(cash_received) or cash_received < 0):
        raise InvalidTender(extra={"tender": "cash_received"})
    if cash_received and cash_received < cash:
        raise CashReceivedShort(extra={"cash": cash, "received": cash_received})
    if cash_received and not cash:
        # Notes handed over with no cash tender would be change for nothing.
        raise InvalidTender(extra={"tender": "cash_received"})


def _take_offers(actor, store, member, quoted, promotions, business_ref, at) -> list:
    """Reserve a unit of each limited promotion the sale uses, then redeem its coupons; the reserved ids."""
    applied = set(quoted.promotions_applied)
    limited = [
        p.pk
        for p in promotions
        if p.pk in applied and (p.stock_total is not None or p.per_member_limit is not None)
    ]
    for promotion_id in limited:
        rules.reserve(promotion_id, member, 1, business_ref)
    for code in quoted.coupons_applied:
        coupon_redemption.redeem(code, store=store, sale_ref=business_ref, at=at, member=member, actor=actor)
    return limited


def _record_sale(actor, store, card, member, business_ref, priced, limited, cash_received):
    """The sale row and its priced lines (one multi-row insert), as the quote made them, and how it was priced."""
    quoted = priced.quote
    products = {product.pk: product for product in cart_products(quoted)}
    gift_prices = {
        line.product_id: products[line.product_id].list_price
        for line in quoted.lines
        if line.gift and line.product_id in products
    }
    sale = Sale.objects.create(
        kind=SaleKind.CHECKOUT,
        merchant_id=store.merchant_id,
        store=store,
        card=card,
        member=member,
        actor=actor,
        business_ref=business_ref,
        list_total=quoted.list_total,
        discount_total=quoted.discount_total,
        total_due=quoted.total_due,
        promotions=sorted(set(quoted.promotions_applied)),
        limited_promotions=limited,
        coupons=list(quoted.coupons_applied),
        order_adjustments=[adjustment_row(a) for a in quoted.order_adjustments],
        cash_received=cash_received,
        pricing=pricing_snapshot.snapshot(priced.cart, priced.promotions, quoted, gift_prices),
    )
    lines = [
        SaleLine(
            sale=sale,
            key=line.key,
            product_id=line.product_id,
            sku=products[line.product_id].sku if line.product_id in products else "",
            name=products[line.product_id].name if line.product_id in products else "",
            quantity=line.quantity,
            list_total=line.list_total,
            adjustments=[adjustment_row(a) for a in line.adjustments],
            due=line.due,
            gift=line.gift,
        )
        for line in quoted.lines
    ]  # fmt: skip
    rows.insert_many(lines)
    return sale, lines


@dataclasses.dataclass(frozen=True)
class PostedTenders:
    """What _post_tenders did: the bonus value paid, the tenders written and the stored-value charge's read."""

    bonus_paid: int
    tenders: list
    charge: object = None  # stored_value.ChargeContext, when a stored-value tender was taken
    points_redeemed: bool = False


def _post_tenders(actor, sale, card, store, checked: Tenders) -> PostedTenders:
    """Take the stored value and the points through the ledger and record every tender (as (kind, fen) pairs)."""
    business_ref, bonus_paid, written, charge = sale.business_ref, 0, [], None
    if checked.sv_amount:
        paid = stored_value.pay(actor, card, checked.sv_amount, store=store, business_ref=business_ref)
        bonus_paid, charge = paid.transaction.bonus, paid.context
        SaleTender.objects.create(
            sale=sale,
            kind=TenderKind.STORED_VALUE,
            amount=checked.sv_amount,
            bonus=paid.transaction.bonus,
            card_transaction=paid.transaction,
        )
        written.append((TenderKind.STORED_VALUE, checked.sv_amount))
    if checked.points_spent:
        points.redeem(actor, card, checked.points_spent, store=store, business_ref=business_ref)
        SaleTender.objects.create(
            sale=sale,
            kind=TenderKind.POINTS,
            amount=checked.points_cash,
            points=checked.points_spent,
            points_entry=points.redemption_entry(card, business_ref),
        )
        written.append((TenderKind.POINTS, checked.points_cash))
    for kind in EXTERNAL:
        if checked.paid.get(kind):
            SaleTender.objects.create(sale=sale, kind=kind, amount=checked.paid[kind])
            written.append((kind, checked.paid[kind]))
    return PostedTenders(bonus_paid, written, charge, points_redeemed=bool(checked.points_spent))


def _earn_points(actor, sale, card, store, points_cash, posted: PostedTenders) -> None:
    """Earn the sale's points on what the merchant's policy counts as paid (module doc), kept on the sale."""
    policy = points.policy_for(store.merchant_id)
    sale.earn_base = (
        sale.total_due
        - (0 if policy.earn_on_points else points_cash)
        - (0 if policy.earn_on_bonus else posted.bonus_paid)
    )
    if card is not None and sale.earn_base > 0:
        try:
            earned = points.earn_for_spend(
                actor, card, sale.earn_base, store=store, business_ref=sale.business_ref,
                **_locked_by_charge(posted),
            )  # fmt: skip
        except points.PointsRateMissing:
            earned = None
        if earned is not None and earned.points:
            sale.points_earned, sale.points_lot = earned.points, earned.lot
    sale.save(update_fields=["earn_base", "points_earned", "points_lot"])


def _locked_by_charge(posted: PostedTenders) -> dict:
    """earn_for_spend's arguments for a card the stored-value tender already locked, checked and read.

    Its lock of the points accounts is handed on too, unless a points tender has moved the member's
    points since (that account's balance and chain head as read would then be stale).
    """
    context = posted.charge
    if context is None:
        return {}
    return {
        "card_locked": True,
        "known": context.member_facts(),
        "accounts": context.points_accounts,
        "held": None if posted.points_redeemed else context.held,
    }


def adjustment_row(adjustment) -> dict:
    """A pricing adjustment as a sale keeps it (and the API answers it): source, amount, explanation, line."""
    return {
        "source": adjustment.source,
        "amount": adjustment.amount,
        "explanation": str(adjustment.explanation),
        "line": adjustment.line_key,
    }


def cart_products(quoted):
    """The products of a quote's lines (gifts included), with only their SKU, name and price, in one query."""
    return Product.objects.filter(pk__in={line.product_id for line in quoted.lines}).only(
        "id", "sku", "name", "list_price"
    )
