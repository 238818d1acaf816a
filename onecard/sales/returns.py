"""Returns of a checkout (L5): give back the whole sale or some of its lines, each tender its share.

The rules (line shares, the spread over the tenders, points given and taken back, coupons and limited
stock restored) are in docs/sales.md, "Returns". A refund of a plain charge is recorded by
sales.services.refund_charge.
"""

import contextlib
import dataclasses

from django.db import transaction

from onecard.core import audit
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.cards.errors import CardNotAccepted
from onecard.loyalty.models import Card
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import services as stored_value
from onecard.promotions import coupon_redemption, pricing, rules
from onecard.promotions.coupon_errors import CouponNotRedeemed
from onecard.sales import invoicing
from onecard.sales.errors import InvalidReturnLines, OverReturn, ReasonRequired
from onecard.sales.models import Sale, SaleReturn, SaleReturnLine, TenderKind

POINTS_NOT_RETURNABLE = "points_tender_not_returnable"


@dataclasses.dataclass
class TendersBack:
    """What the tenders gave back: one row per tender for the return, and the points tender's outcome."""

    rows: list = dataclasses.field(default_factory=list)
    points_not_returned: int = 0  # fen
    points_given_back: int = 0


@transaction.atomic
def return_sale(actor, sale, *, store, lines=None, reason) -> SaleReturn:
    """Return the whole sale (`lines` None) or {line id: units}; each tender gives back its share (docs/sales.md)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    sale = Sale.objects.select_for_update().get(pk=sale.pk)
    if store.merchant_id != sale.merchant_id:
        raise CardNotAccepted(extra={"sale": sale.business_ref})
    sale_lines = {line.pk: line for line in sale.lines.all()}
    wanted = _wanted(sale_lines, lines)
    shares = _line_shares(sale_lines, wanted)
    amount = sum(shares.values())
    if sale.returned_due + amount > sale.total_due:
        raise OverReturn(extra={"left": sale.total_due - sale.returned_due})
    ref = f"{sale.business_ref}/R{sale.returns.count() + 1}"[:100]
    back = _give_tenders_back(actor, sale, store, amount, ref, reason)
    taken, shortfall = _take_points_back(actor, sale, amount, ref)
    sale_return = SaleReturn.objects.create(
        sale=sale,
        store=store,
        actor=actor,
        reason=reason[:200],
        amount=amount,
        tenders=back.rows,
        points_given_back=back.points_given_back,
        points_not_returned=back.points_not_returned,
        points_taken_back=taken,
        points_shortfall=shortfall,
    )
    _mark_lines_returned(sale_return, sale_lines, wanted, shares)
    invoicing.record_return(sale_return)
    sale.returned_due += amount
    sale.save(update_fields=["returned_due"])
    if all(line.returned_quantity == line.quantity for line in sale_lines.values()):
        _restore_offers(actor, sale, store)
    audit.record(
        actor,
        "create",
        sale_return,
        after={"sale": sale.business_ref, "amount": amount, "tenders": back.rows, "points_taken_back": taken},
        note=reason[:300],
        node=store,
        merchant=store.merchant,
    )
    return sale_return


def _whole(value) -> bool:
    """An int that is not a bool (True would pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


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


def _line_shares(sale_lines, wanted) -> dict:
    """{line id: fen of its due coming back}: cumulative floors, so a line's returns add up to its due."""
    shares = {}
    for pk, quantity in wanted.items():
        line = sale_lines[pk]
        after = line.due * (line.returned_quantity + quantity) // line.quantity
        shares[pk] = after - line.returned_due
    return shares


def _give_tenders_back(actor, sale, store, amount, ref, reason) -> TendersBack:
    """Spread `amount` over what each tender has left and give each its share back through the ledger."""
    tenders = list(sale.tenders.order_by("pk"))
    spread = pricing.spread(amount, [t.amount - t.returned_amount for t in tenders])
    back = TendersBack()
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
            _give_points_back(actor, sale, tender, share, ref, row, back)
        tender.returned_amount += share
        tender.save(update_fields=["returned_amount", "returned_points"])
        back.rows.append(row)
    return back


def _give_points_back(actor, sale, tender, share, ref, row, back) -> None:
    """The points tender's share: its points back to their lots, or recorded as not returnable (card cancelled)."""
    after = tender.points * (tender.returned_amount + share) // tender.amount
    points_back = after - tender.returned_points
    card = Card.objects.only("status").get(pk=sale.card_id)
    if tender.points_entry_id is None or card.status == CardStatus.CANCELLED:
        row["code"] = POINTS_NOT_RETURNABLE
        back.points_not_returned += share
    elif points_back:
        points.reverse_redeem(
            actor,
            tender.points_entry_id,
            points_back,
            business_ref=ref,
            memo=f"return of sale {sale.business_ref}",
        )
        row["points"] = points_back
        back.points_given_back += points_back
    tender.returned_points = after


def _take_points_back(actor, sale, amount, ref) -> tuple[int, int]:
    """(taken, shortfall): the sale's earned points in proportion to `amount`, cumulative floors over its due."""
    if not (sale.points_earned and sale.points_lot_id and sale.total_due):
        return 0, 0
    back = sale.points_earned * (sale.returned_due + amount) // sale.total_due
    back -= sale.points_earned * sale.returned_due // sale.total_due
    if not back:
        return 0, 0
    reversed_ = points.reverse_earn(
        actor, sale.points_lot, back, business_ref=ref, memo=f"return of sale {sale.business_ref}"
    )
    return reversed_.taken, reversed_.shortfall


def _mark_lines_returned(sale_return, sale_lines, wanted, shares) -> None:
    """Count the returned units and due on each line, and record the return's lines."""
    for pk, quantity in wanted.items():
        line = sale_lines[pk]
        line.returned_quantity += quantity
        line.returned_due += shares[pk]
        line.save(update_fields=["returned_quantity", "returned_due"])
        SaleReturnLine.objects.create(sale_return=sale_return, line=line, quantity=quantity, due=shares[pk])


def _restore_offers(actor, sale, store) -> None:
    """Once the whole sale is back: its coupons restored and its limited-promotion units released."""
    for code in sale.coupons:
        # A count coupon used by a later sale since: that sale holds it now.
        with contextlib.suppress(CouponNotRedeemed):
            coupon_redemption.restore(code, sale.business_ref, actor=actor, store=store)
    if sale.limited_promotions:
        rules.release(sale.business_ref)
