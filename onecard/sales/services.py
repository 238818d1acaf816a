"""The sale of every plain payment: a charge, a hold's capture, a package use, and the return of a refund.

Each service calls the loyalty service that moves the money and records the sale in the same
database transaction, so a refused payment leaves no sale and an idempotent retry (which replays the
stored answer without calling again) makes no second one. Checkouts record their own sale
(sales.checkout) and are returned with sales.returns. Rules and the choices behind them: docs/sales.md.
"""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from onecard.core import rows
from onecard.loyalty.models import Card, CardTransaction
from onecard.loyalty.packages import services as packages
from onecard.loyalty.stored_value import holds, voids
from onecard.loyalty.stored_value import services as stored_value
from onecard.sales import invoicing, signals
from onecard.sales.models import (
    InvoiceFact,
    Sale,
    SaleKind,
    SaleLine,
    SaleReturn,
    SaleReturnLine,
    SaleTender,
    TenderKind,
)

# The description of the one unitemised line of a plain charge and of a capture (stored as data, like
# a product's name, in the language of the shop).
CHARGE_LINE_NAME = "消费"
CAPTURE_LINE_NAME = "预授权消费"
VOID_REASON = "撤销"  # a void's return says so, before the cashier's reason
LINE_NAMES = {SaleKind.CHARGE: CHARGE_LINE_NAME, SaleKind.CAPTURE: CAPTURE_LINE_NAME}


def charge_card(actor, card, list_amount, *, store, business_ref="") -> CardTransaction:
    """消费 through stored_value.charge, recorded as a sale; the card password is the caller's, checked before.

    The password check commits its own count of wrong tries, so it cannot run inside this transaction:
    callers run stored_value.check_charge_password first, as the till and the POS API do.
    """
    with transaction.atomic():
        tx = stored_value.charge_within(actor, card, list_amount, store=store, business_ref=business_ref)
        record_card_payment(SaleKind.CHARGE, tx, store)
    return tx


def capture_hold(actor, hold_row, amount=None, *, store=None, business_ref="") -> CardTransaction:
    """Capture a hold through holds.capture and record the captured amount as a sale.

    An expired hold is released and refused as holds.capture does: the release is not undone here
    (the refusal leaves this block first), so outside any transaction it commits as it always did.
    """
    with transaction.atomic():
        try:
            tx = holds.capture(actor, hold_row, amount, store=store, business_ref=business_ref)
        except holds.HoldExpired as error:
            expired = error
        else:
            record_card_payment(SaleKind.CAPTURE, tx, tx.store)
            return tx
    raise expired


def use_package(actor, member_package, service, *, store, count=1, at=None, business_ref=""):
    """Use a package through packages.use_package and record the service used as a sale line."""
    with transaction.atomic():
        use = packages.use_package(
            actor, member_package, service, store=store, count=count, at=at, business_ref=business_ref
        )
        record_package_use(use, store)
    return use


def refund_charge(actor, original, amount=None, *, store, reason, business_ref="") -> CardTransaction:
    """退款 of a charge or capture through stored_value.refund, recorded as a return of its sale."""
    with transaction.atomic():
        tx = stored_value.refund(
            actor, original, amount, store=store, reason=reason, business_ref=business_ref
        )
        record_refund(tx)
    return tx


class VoidOfSaleTender(voids.NotVoidable):
    """A void of a stored-value payment that is one tender of a checkout: the sale is returned instead."""

    code = "void_part_of_sale"
    default_message = _("This payment is part of a sale: return the sale instead.")


def void_card_transaction(
    actor, original, *, store, reason="", approver=None, business_ref=""
) -> CardTransaction:
    """撤销 a top-up or charge through stored_value.voids, its charge sale returned in full in the same transaction.

    A charge that paid part of a checkout is refused (void_part_of_sale): its sale's lines say what
    came back, so it goes through sales.returns.
    """
    if SaleTender.objects.filter(card_transaction_id=original.pk, sale__kind=SaleKind.CHECKOUT).exists():
        raise VoidOfSaleTender(extra={"transaction": original.pk})
    with transaction.atomic():
        tx = voids.void(
            actor, original, store=store, reason=reason, approver=approver, business_ref=business_ref
        )
        record_refund(tx, reason=f"{VOID_REASON}：{tx.reason}" if tx.reason else VOID_REASON)
    return tx


def record_card_payment(kind, tx, store) -> Sale:
    """The sale of a plain charge or capture `tx`: one unitemised line, one stored-value tender, its invoice fact.

    Every HTTP charge does this on top of the charge itself, so it is one statement on PostgreSQL
    (rows.insert_family); nothing listens to these rows' signals.
    """
    list_total = tx.list_amount or tx.amount
    sale = Sale(
        kind=kind,
        merchant_id=store.merchant_id,
        store_id=tx.store_id,
        card_id=tx.card_id,
        member_id=tx.member_id,
        actor_id=tx.actor_id,
        business_ref=tx.business_ref,
        list_total=list_total,
        discount_total=tx.discount,
        total_due=tx.amount,
    )

    line = SaleLine(
        key=kind, name=LINE_NAMES[kind], quantity=1, list_total=list_total, adjustments=[], due=tx.amount
    )

    def line_tender_and_fact(sale):
        tender = SaleTender(
            kind=TenderKind.STORED_VALUE, amount=tx.amount, bonus=tx.bonus, card_transaction_id=tx.pk
        )
        fact = InvoiceFact(**invoicing.sale_fact_fields(sale, [(TenderKind.STORED_VALUE, tx.amount)]))
        return [line, tender, fact]

    sale = rows.insert_family(sale, line_tender_and_fact, parent_key="sale_id")
    signals.sale_recorded.send(Sale, sale=sale, lines=[line])
    return sale


def record_package_use(use, store) -> Sale:
    """The sale of a package use: one line for the service, paid by the package at the value the use recognised."""
    package = use.member_package
    member_id = Card.objects.filter(pk=package.card_id).values_list("member_id", flat=True).first()
    sale = Sale.objects.create(
        kind=SaleKind.PACKAGE_USE,
        merchant_id=store.merchant_id,
        store_id=use.store_id,
        card_id=package.card_id,
        member_id=member_id,
        actor_id=use.actor_id,
        business_ref=use.business_ref,
        list_total=use.value,
        discount_total=0,
        total_due=use.value,
    )
    line = SaleLine.objects.create(
        sale=sale,
        key=f"package:{package.pk}",
        package_use=use,
        sku="",
        name=package_line_name(package.name, use.service),
        quantity=use.count,
        list_total=use.value,
        adjustments=[],
        due=use.value,
    )
    tenders = [(TenderKind.PACKAGE, use.value)] if use.value else []
    for kind, amount in tenders:
        SaleTender.objects.create(sale=sale, kind=kind, amount=amount)
    invoicing.record_sale(sale, tenders=tenders)
    signals.sale_recorded.send(Sale, sale=sale, lines=[line])
    return sale


def package_line_name(package_name, service) -> str:
    """A package use's line: the package and the service used."""
    return f"{package_name} · {service}"[:200]


def record_refund(refund_tx, *, reason=None) -> SaleReturn | None:
    """A return of the charge or capture sale that `refund_tx` refunded or voided (None: its original made no such sale).

    A checkout's stored-value tender refunded directly (not through sales.returns) is left as it was:
    its sale's lines cannot say which items came back.
    """
    tender = (
        SaleTender.objects.select_related("sale")
        .filter(card_transaction_id=refund_tx.original_id, sale__kind__in=(SaleKind.CHARGE, SaleKind.CAPTURE))
        .first()
    )
    if tender is None:
        return None
    sale, amount = tender.sale, refund_tx.amount
    line = SaleLine.objects.filter(sale=sale).order_by("pk").first()
    # The one line counts as returned (its unit) only once the whole charge has come back.
    line.returned_due += amount
    units = line.quantity - line.returned_quantity if line.returned_due >= line.due else 0
    line.returned_quantity += units
    line.save(update_fields=["returned_due", "returned_quantity"])
    tender.returned_amount += amount
    tender.save(update_fields=["returned_amount"])
    sale.returned_due += amount
    sale.save(update_fields=["returned_due"])
    sale_return = SaleReturn.objects.create(
        sale=sale,
        store_id=refund_tx.store_id,
        actor_id=refund_tx.actor_id,
        reason=refund_tx.reason if reason is None else reason,
        amount=amount,
        lines_due=amount,
        tenders=[
            {"tender": tender.pk, "kind": tender.kind, "amount": amount, "card_transaction": refund_tx.pk}
        ],
        points_taken_back=refund_tx.points_reversed + refund_tx.rebate_points,
        points_shortfall=refund_tx.points_shortfall,
    )
    SaleReturnLine.objects.create(sale_return=sale_return, line=line, quantity=units, due=amount)
    invoicing.record_return(sale_return)
    signals.sale_returned.send(Sale, sale=sale, sale_return=sale_return, lines=[(line, units, amount)])
    return sale_return
