"""Returns of a checkout (L5): give back the whole sale or some of its lines, each tender its share.

The rules (line shares, what is kept priced again, the spread over the tenders, points given and taken
back, coupons and limited stock restored) are in docs/sales.md, "Returns" and "What is kept is priced
again". A refund of a plain charge is recorded by sales.services.refund_charge.

What is kept is priced again with the sale's own pricing (Sale.pricing, promotions.pricing_snapshot):
the refund is what the customer has paid and not had back less what the kept units cost now, at least 0
and at most the due of all returned units less what came back before. `quote_return` answers it
without writing (the till's preview); `return_sale` gives it back.
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
from onecard.promotions import coupon_redemption, pricing, pricing_snapshot, rules
from onecard.promotions.coupon_errors import CouponNotRedeemed
from onecard.sales import invoicing, signals
from onecard.sales.errors import InvalidReturnLines, OverReturn, ReasonRequired
from onecard.sales.models import Sale, SaleReturn, SaleReturnLine, TenderKind

POINTS_NOT_RETURNABLE = "points_tender_not_returnable"


@dataclasses.dataclass
class TendersBack:
    """What the tenders gave back: one row per tender for the return, and the points tender's outcome."""

    rows: list = dataclasses.field(default_factory=list)
    points_not_returned: int = 0  # fen
    points_given_back: int = 0


@dataclasses.dataclass
class ReturnQuote:
    """What a return gives back: each returned line's share, the deduction for what is kept, and why."""

    wanted: dict  # {line id: units}
    shares: dict  # {line id: fen of its due}
    lines_due: int  # fen: the shares' sum
    deduction: int  # fen taken off lines_due (negative: an earlier deduction given back)
    # {"kept_before", "kept_now" (fen), "lost": [promotion names], "gifts": [{"line", "name", "quantity",
    # "amount"}]}; empty when the sale's pricing was not kept
    repricing: dict

    @property
    def refund(self) -> int:
        return self.lines_due - self.deduction


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
    quoted = _quote(sale, sale_lines, _wanted(sale_lines, lines))
    amount = quoted.refund
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
        lines_due=quoted.lines_due,
        deduction=quoted.deduction,
        repricing=quoted.repricing,
        tenders=back.rows,
        points_given_back=back.points_given_back,
        points_not_returned=back.points_not_returned,
        points_taken_back=taken,
        points_shortfall=shortfall,
    )
    _mark_lines_returned(sale_return, sale_lines, quoted.wanted, quoted.shares)
    invoicing.record_return(sale_return)
    sale.returned_due += amount
    sale.save(update_fields=["returned_due"])
    returned = [(sale_lines[pk], units, quoted.shares[pk]) for pk, units in quoted.wanted.items()]
    signals.sale_returned.send(Sale, sale=sale, sale_return=sale_return, lines=returned)
    if all(line.returned_quantity == line.quantity for line in sale_lines.values()):
        _restore_offers(actor, sale, store)
    audit.record(
        actor,
        "create",
        sale_return,
        after={
            "sale": sale.business_ref,
            "amount": amount,
            "deduction": quoted.deduction,
            "tenders": back.rows,
            "points_taken_back": taken,
        },
        note=reason[:300],
        node=store,
        merchant=store.merchant,
    )
    return sale_return


def quote_return(sale, lines=None) -> ReturnQuote:
    """What returning `lines` ({line id: units}; None: all that is left) would give back; writes nothing."""
    sale_lines = {line.pk: line for line in sale.lines.all()}
    return _quote(sale, sale_lines, _wanted(sale_lines, lines))


def _quote(sale, sale_lines, wanted) -> ReturnQuote:
    return price_return(
        sale.pricing, sale_lines, wanted, total_due=sale.total_due, returned_due=sale.returned_due
    )


def price_return(kept, sale_lines, wanted, *, total_due, returned_due) -> ReturnQuote:
    """The returned units' shares, then what is kept priced again with the sale's own pricing `kept`.

    `sale_lines` {id: line with key, quantity, due, returned_quantity, returned_due, gift, product_id,
    name, adjustments}; `wanted` {id: units}; `total_due` and `returned_due` the sale's. No database.
    """
    shares = _line_shares(sale_lines, wanted)
    lines_due = sum(shares.values())
    if not kept:  # a sale from before its pricing was kept: the shares, as then
        return ReturnQuote(wanted, shares, lines_due, 0, {})
    left = {pk: line.quantity - line.returned_quantity - wanted.get(pk, 0) for pk, line in sale_lines.items()}
    quantities = {line.key: left[pk] for pk, line in sale_lines.items() if not line.gift}
    now = pricing_snapshot.reprice(kept, quantities)
    gifts = _gifts_not_earned(kept, sale_lines, left, now)
    kept_now = now.total_due + sum(gift["amount"] for gift in gifts)
    paid = total_due - returned_due  # what the customer has paid and not had back
    # At most the due of everything returned so far less what came back: never more than the sale's
    # own prices would give, and the return that completes the sale gives back all that was paid.
    most = sum(line.returned_due for line in sale_lines.values()) + lines_due - returned_due
    refund = max(0, min(paid - kept_now, most))
    repricing = {
        "kept_before": paid - most,
        "kept_now": now.total_due,  # the gifts not earned are rows of their own
        "lost": _lost(kept, sale_lines, left, now),
        "gifts": gifts,
    }
    return ReturnQuote(wanted, shares, lines_due, lines_due - refund, repricing)


def _lost(kept, sale_lines, left, now) -> list:
    """Names of the promotions that priced a kept line at the sale and price none now."""
    names = pricing_snapshot.rule_names(kept)
    had = {
        adjustment.get("source")
        for pk, line in sale_lines.items()
        if left[pk] > 0
        for adjustment in line.adjustments
    }
    still = {f"promotion:{rule_id}" for rule_id in now.promotions_applied}
    return [names[source] for source in names if source in had and source not in still]


def _gifts_not_earned(kept, sale_lines, left, now) -> list:
    """Gift units kept that what is kept no longer earns, at the gift's list price at the sale."""
    earned = {}
    for line in now.lines:
        if line.gift:
            earned[line.key] = earned.get(line.key, 0) + line.quantity
    rows = []
    for pk, line in sale_lines.items():
        extra = left[pk] - earned.get(line.key, 0)
        if line.gift and extra > 0:
            price = pricing_snapshot.gift_price(kept, line.product_id) or 0
            rows.append({"line": pk, "name": line.name, "quantity": extra, "amount": price * extra})
    return rows


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
