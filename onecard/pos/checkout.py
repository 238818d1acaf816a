"""Checkout services (L5): quote a cart, take a multi-tender payment in one transaction, return a sale.

Prices: a cart (items: SKU or barcode × quantity) is priced by the promotions engine
(`promotions.pricing.price_cart`) with the member's tier (member price and tier discount), the
promotions in force in the store (`rules.active_promotions`) and the coupons presented. A client
total is never trusted: `checkout` prices the cart again inside its transaction.

Tenders (`checkout(..., tenders={kind: value})`): "stored_value" fen (stored_value.pay: exactly that
amount, no second tier discount, no points of its own), "points" n points (points.redeem; their
cash value points_to_cash(n), rounded down, counts toward the total, at most points_rules.bill_cap
of the amount due), and external tenders "cash", "bank_card", "wechat", "alipay" in fen, recorded
as SaleTender rows only. The tenders must add up exactly to the amount due (tenders_mismatch).
A stored-value or points tender needs a card of the store's merchant (alliance cards are not taken
at checkout yet); the card password is the caller's check, before the transaction
(stored_value.check_pay_password).

Points earned: on the amount due minus the points tender's cash value minus the bonus part of the
stored-value tender, by default; a merchant's points policy may count either as paid
(PointsPolicy.earn_on_points / earn_on_bonus). By the merchant's earn rules
(points.earn_for_spend: floored; no matching rule earns nothing). `quote` cannot know the tender
split, so it reports the most the sale can earn: on the whole amount due. A sale with a member
also issues the coupons its amount due earns (coupons.issue_after_spend, once per sale).

Limited promotions: each limited promotion the sale uses takes one unit (rules.reserve with the
sale's reference) under the promotion's row lock, so concurrent checkouts cannot oversell.

Returns (`return_sale`), all in integer fen:
- a line's returned due after q of its n units are returned in total is floor(due × q / n), the
  whole due once every unit is back (cumulative floors: the returns of a line add up to its due);
- the return amount is spread over what each tender has not given back yet, in proportion, with
  cumulative floors (pricing.spread): each share is at most what that tender has left and the
  return that completes the sale gives every tender back exactly what it paid;
- stored value goes back with stored_value.refund of the tender's own pay transaction;
- a points tender gives its points back in proportion to its share, cumulative floors of the points
  spent, to the lots they came from (points.reverse_redeem, with those lots' expiry); when the card has
  been cancelled since, the share is recorded as `points_not_returned` (code
  points_tender_not_returnable) and the points stay spent;
- points earned are taken back in proportion, floor(E × returned after / due) − floor(E × returned
  before / due), through points.reverse_earn (what was spent already is the shortfall);
- coupons are restored (coupon_redemption.restore, as each template's policy says) and limited-promotion
  units released (rules.release) only when the whole sale has been returned; a count coupon that a
  later sale has used since stays with that sale.
"""

import contextlib
import dataclasses
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.catalog.errors import InvalidQuantity
from onecard.catalog.models import Product
from onecard.catalog.queries import products_for_codes
from onecard.core import audit
from onecard.core.money import fen_to_yuan_str
from onecard.loyalty.cards.choices import CardKind, CardStatus
from onecard.loyalty.cards.errors import CardNotAccepted
from onecard.loyalty.cards.services import card_balances
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Card
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers.services import member_tier
from onecard.members.models import Member
from onecard.pos.checkout_errors import (
    BusinessRefRequired,
    BusinessRefTooLong,
    CardRequired,
    CashReceivedShort,
    EmptyCart,
    InvalidReturnLines,
    InvalidTender,
    OverReturn,
    PointsOverCap,
    ReasonRequired,
    SaleExists,
    TendersMismatch,
    UnknownSku,
    coupon_refused,
)
from onecard.pos.models import Sale, SaleLine, SaleReturn, SaleReturnLine, SaleTender, TenderKind
from onecard.promotions import coupon_redemption, coupons, pricing, rules
from onecard.promotions.cart import Cart, Quote
from onecard.promotions.cart_lines import cart_line
from onecard.promotions.coupon_errors import CouponNotRedeemed

EXTERNAL = (TenderKind.CASH, TenderKind.BANK_CARD, TenderKind.WECHAT, TenderKind.ALIPAY)
POINTS_NOT_RETURNABLE = "points_tender_not_returnable"
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


def _price(merchant, store, member, items, offers, at, tier=_UNREAD):
    """(quote, promotions in force): the cart priced with the store's promotions and the member's used counts."""
    cart = _build_cart(store, member, items, offers, at, tier)
    promotions = rules.active_promotions(merchant, store, at)
    # Stock and member caps only matter for the limited promotions that can touch this cart.
    limited = [p for p in promotions if p.stock_total is not None or p.per_member_limit is not None]
    used = rules.used_counts(pricing.touching(cart, limited), member) if limited else {}
    quoted = pricing.price_cart(cart, promotions, used_counts=used)
    return quoted, promotions


def _holder(card_or_member):
    if isinstance(card_or_member, Card):
        return card_or_member, card_or_member.member
    if isinstance(card_or_member, Member):
        return None, card_or_member
    return None, None


def _check_card(card, store):
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
    quoted, _promotions = _price(merchant, store, member, items, offers, at, tier)
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
        if kind not in TenderKind.values or not _whole(value) or value <= 0:
            raise InvalidTender(extra={"tender": str(kind)})
        parsed[kind] = value
    return parsed


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
    business_ref = (business_ref or "").strip()
    if not business_ref:
        raise BusinessRefRequired()
    if len(business_ref) > MAX_SALE_REF:
        raise BusinessRefTooLong(extra={"max_length": MAX_SALE_REF})
    paid = _parse_tenders(tenders)
    at = at or timezone.now()
    if card is not None:
        card = Card.objects.select_related("member", "product").get(pk=card.pk)
    _check_card(card, store)
    if card is not None:
        member = card.member
    elif member is not None:
        member = Member.objects.get(pk=member.pk)
        if member.merchant_id != store.merchant_id:
            raise CardNotAccepted(extra={"member": member.member_no})
    if Sale.objects.filter(merchant_id=store.merchant_id, business_ref=business_ref).exists():
        raise SaleExists(extra={"business_ref": business_ref})
    offers = coupon_redemption.offers_for(member, store, at, list(coupon_codes or ()))
    quoted, promotions = _price(store.merchant, store, member, items, offers, at)
    if quoted.coupons_refused:
        code, error = next(iter(quoted.coupons_refused.items()))
        raise coupon_refused(error, code)
    due = quoted.total_due

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
    cash = paid.get(TenderKind.CASH, 0)
    if cash_received is not None and (not _whole(cash_received) or cash_received < 0):
        raise InvalidTender(extra={"tender": "cash_received"})
    if cash_received and cash_received < cash:
        raise CashReceivedShort(extra={"cash": cash, "received": cash_received})
    if cash_received and not cash:
        # Notes handed over with no cash tender would be change for nothing.
        raise InvalidTender(extra={"tender": "cash_received"})

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

    sale = Sale.objects.create(
        merchant_id=store.merchant_id,
        store=store,
        card=card,
        member=member,
        actor=actor,
        business_ref=business_ref,
        list_total=quoted.list_total,
        discount_total=quoted.discount_total,
        total_due=due,
        promotions=sorted(applied),
        limited_promotions=limited,
        coupons=list(quoted.coupons_applied),
        order_adjustments=[adjustment_row(a) for a in quoted.order_adjustments],
        cash_received=cash_received or 0,
    )
    products = {product.pk: product for product in cart_products(quoted)}
    SaleLine.objects.bulk_create(
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
    )

    bonus_paid = 0
    if sv_amount:
        tx = stored_value.pay(actor, card, sv_amount, store=store, business_ref=business_ref)
        bonus_paid = tx.bonus
        SaleTender.objects.create(
            sale=sale, kind=TenderKind.STORED_VALUE, amount=sv_amount, bonus=tx.bonus, card_transaction=tx
        )
    if points_spent:
        points.redeem(actor, card, points_spent, store=store, business_ref=business_ref)
        SaleTender.objects.create(
            sale=sale,
            kind=TenderKind.POINTS,
            amount=points_cash,
            points=points_spent,
            points_entry=points.redemption_entry(card, business_ref),
        )
    for kind in EXTERNAL:
        if paid.get(kind):
            SaleTender.objects.create(sale=sale, kind=kind, amount=paid[kind])

    policy = points.policy_for(store.merchant_id)
    sale.earn_base = (
        due - (0 if policy.earn_on_points else points_cash) - (0 if policy.earn_on_bonus else bonus_paid)
    )
    if card is not None and sale.earn_base > 0:
        try:
            earned = points.earn_for_spend(
                actor, card, sale.earn_base, store=store, business_ref=business_ref
            )
        except points.PointsRateMissing:
            earned = None
        if earned is not None and earned.points:
            sale.points_earned, sale.points_lot = earned.points, earned.lot
    sale.save(update_fields=["earn_base", "points_earned", "points_lot"])
    if member is not None and due > 0:
        coupons.issue_after_spend(member, due, business_ref, at=at)
    audit.record(
        actor,
        "create",
        sale,
        after={"business_ref": business_ref, "total_due": due, "tenders": paid, "coupons": sale.coupons},
        node=store,
        merchant=store.merchant,
    )
    return sale


def adjustment_row(adjustment) -> dict:
    """A pricing adjustment as a sale keeps it (and the API answers it): source, amount, explanation, line."""
    return {
        "source": adjustment.source,
        "amount": adjustment.amount,
        "explanation": str(adjustment.explanation),
        "line": adjustment.line_key,
    }


def cart_products(quoted):
    """The products of a quote's lines (gifts included), with only their SKU and name, in one query."""
    return Product.objects.filter(pk__in={line.product_id for line in quoted.lines}).only("id", "sku", "name")


# ---- returns -----------------------------------------------------------------------------------------------


def _wanted(sale_lines, lines) -> dict:
    """{line id: units to return}: every unit not returned yet when `lines` is None; refused when malformed."""
    if lines is None:
        wanted = {pk: line.quantity - line.returned_quantity for pk, line in sale_lines.items()}
        wanted = {pk: quantity for pk, quantity in wanted.items() if quantity}
        if not wanted:
            raise OverReturn()
        return wanted
    if not isinstance(lines, dict) or not lines:
        raise InvalidReturnLines()
    for pk, quantity in lines.items():
        if pk not in sale_lines or not _whole(quantity) or quantity <= 0:
            raise InvalidReturnLines(extra={"line": str(pk)})
        line = sale_lines[pk]
        if quantity > line.quantity - line.returned_quantity:
            raise OverReturn(extra={"line": pk, "left": line.quantity - line.returned_quantity})
    return dict(lines)


@transaction.atomic
def return_sale(actor, sale, *, store, lines=None, reason) -> SaleReturn:
    """Return the whole sale (`lines` None) or {line id: units}; each tender gives back its share (module doc)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    sale = Sale.objects.select_for_update().get(pk=sale.pk)
    if store.merchant_id != sale.merchant_id:
        raise CardNotAccepted(extra={"sale": sale.business_ref})
    sale_lines = {line.pk: line for line in sale.lines.all()}
    wanted = _wanted(sale_lines, lines)
    shares = {}
    for pk, quantity in wanted.items():
        line = sale_lines[pk]
        after = line.due * (line.returned_quantity + quantity) // line.quantity
        shares[pk] = after - line.returned_due
    amount = sum(shares.values())
    if sale.returned_due + amount > sale.total_due:
        raise OverReturn(extra={"left": sale.total_due - sale.returned_due})
    ref = f"{sale.business_ref}/R{sale.returns.count() + 1}"[:100]
    tenders = list(sale.tenders.order_by("pk"))
    spread = pricing.spread(amount, [t.amount - t.returned_amount for t in tenders])
    given, not_returned, given_points = [], 0, 0
    for tender, share in zip(tenders, spread, strict=True):
        if not share:
            continue
        row = {"tender": tender.pk, "kind": tender.kind, "amount": share}
        if tender.kind == TenderKind.STORED_VALUE:
            refund = stored_value.refund(
                actor, tender.card_transaction, share, store=store, reason=reason, business_ref=ref
            )
            row["card_transaction"] = refund.pk
        elif tender.kind == TenderKind.POINTS:
            after = tender.points * (tender.returned_amount + share) // tender.amount
            back = after - tender.returned_points
            card = Card.objects.only("status").get(pk=sale.card_id)
            if tender.points_entry_id is None or card.status == CardStatus.CANCELLED:
                row["code"] = POINTS_NOT_RETURNABLE
                not_returned += share
            elif back:
                points.reverse_redeem(
                    actor,
                    tender.points_entry_id,
                    back,
                    business_ref=ref,
                    memo=f"return of sale {sale.business_ref}",
                )
                row["points"] = back
                given_points += back
            tender.returned_points = after
        tender.returned_amount += share
        tender.save(update_fields=["returned_amount", "returned_points"])
        given.append(row)

    taken = shortfall = 0
    if sale.points_earned and sale.points_lot_id and sale.total_due:
        back = sale.points_earned * (sale.returned_due + amount) // sale.total_due
        back -= sale.points_earned * sale.returned_due // sale.total_due
        if back:
            reversed_ = points.reverse_earn(
                actor, sale.points_lot, back, business_ref=ref, memo=f"return of sale {sale.business_ref}"
            )
            taken, shortfall = reversed_.taken, reversed_.shortfall

    sale_return = SaleReturn.objects.create(
        sale=sale,
        store=store,
        actor=actor,
        reason=reason[:200],
        amount=amount,
        tenders=given,
        points_given_back=given_points,
        points_not_returned=not_returned,
        points_taken_back=taken,
        points_shortfall=shortfall,
    )
    for pk, quantity in wanted.items():
        line = sale_lines[pk]
        line.returned_quantity += quantity
        line.returned_due += shares[pk]
        line.save(update_fields=["returned_quantity", "returned_due"])
        SaleReturnLine.objects.create(sale_return=sale_return, line=line, quantity=quantity, due=shares[pk])
    sale.returned_due += amount
    sale.save(update_fields=["returned_due"])

    if all(line.returned_quantity == line.quantity for line in sale_lines.values()):
        for code in sale.coupons:
            # A count coupon used by a later sale since: that sale holds it now.
            with contextlib.suppress(CouponNotRedeemed):
                coupon_redemption.restore(code, sale.business_ref, actor=actor, store=store)
        if sale.limited_promotions:
            rules.release(sale.business_ref)
    audit.record(
        actor,
        "create",
        sale_return,
        after={"sale": sale.business_ref, "amount": amount, "tenders": given, "points_taken_back": taken},
        note=reason[:300],
        node=store,
        merchant=store.merchant,
    )
    return sale_return
