"""The till's sales already made (收银台): the receipt, today's sales of the store, a sale and its returns.

A sale is visible to the cashier who made it and to staff whose scope holds its store; anything else
answers 404. A return runs sales.returns.return_sale under run_idempotent with a one-time token, like
the till's refunds; a return that brings what came back of the sale above the refund approval limit
needs till.refund_large (till.actions.refund_approval_limit), checked in the same transaction.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from onecard.core.errors import BusinessError
from onecard.core.masking import mask_phone
from onecard.core.money import fen_to_yuan_str
from onecard.core.paging import page_of
from onecard.core.scoping import node_in_scope
from onecard.core.spreadsheets import xlsx_bytes, xlsx_response
from onecard.loyalty.cards.choices import CardKind
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.stored_value import services as stored_value
from onecard.pos.till.actions import (
    check_refund_approval,
    form_error,
    new_token,
    refund_approval_limit,
    run_once,
)
from onecard.pos.till.cards import balance_after, mask_card_number
from onecard.pos.till.cart import adjustment_row
from onecard.pos.till.forms import ReturnForm
from onecard.pos.till.sale import require_till, with_store
from onecard.promotions.models import Coupon
from onecard.sales import returns
from onecard.sales.models import Sale, TenderKind
from onecard.sales.queries import checkout_sales


def _sale_or_404(user, pk) -> Sale:
    """A sale the user may see: their own, or one of a store in their scope; anything else is missing."""
    sale = (
        checkout_sales()
        .select_related("store", "store__merchant", "card", "card__product", "member", "actor")
        .filter(pk=pk)
        .first()
    )
    if sale is None or not (sale.actor_id == user.pk or node_in_scope(user, sale.store)):
        raise Http404(_("No such sale."))
    return sale


def _order_sources(sale) -> set:
    return {a.get("source") for a in sale.order_adjustments or []}


def _lines(sale):
    """The sale's lines with their own adjustments and their share of the order-level ones."""
    order = _order_sources(sale)
    rows = []
    for line in sale.lines.all():
        own = [
            adjustment_row(a.get("source"), a.get("amount", 0), a.get("explanation", ""))
            for a in line.adjustments
            if a.get("source") not in order
        ]
        rows.append(
            {
                "line": line,
                "adjustments": own,
                "order_share": sum(a.get("amount", 0) for a in line.adjustments if a.get("source") in order),
                "left": line.quantity - line.returned_quantity,
            }
        )
    return rows


def _tenders(sale):
    labels = dict(TenderKind.choices)
    return [{"tender": t, "label": labels.get(t.kind, t.kind)} for t in sale.tenders.all()]


def _balances_after(sale) -> dict | None:
    """The card's stored value and points right after the sale (the ledger's balance after its last entry)."""
    if sale.card_id is None:
        return None
    last = (
        JournalEntry.objects.filter(merchant_id=sale.merchant_id, business_ref=sale.business_ref)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if last is None:  # the sale did not touch the card's accounts: its balances just before it
        last = (
            JournalEntry.objects.filter(created_at__lte=sale.created_at)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
    principal = balance_after(sale.card_id, AccountKind.MEMBER_PRINCIPAL, last)
    bonus = balance_after(sale.card_id, AccountKind.MEMBER_BONUS, last)
    return {
        "principal": principal,
        "bonus": bonus,
        "stored_value": principal + bonus,
        "points": balance_after(sale.card_id, AccountKind.MEMBER_POINTS, last),
        "is_stored_value": sale.card.product.kind == CardKind.STORED_VALUE,
    }


def _sale_context(sale):
    member = sale.member
    return {
        "sale": sale,
        "lines": _lines(sale),
        "tenders": _tenders(sale),
        "order_adjustments": [
            adjustment_row(a.get("source"), a.get("amount", 0), a.get("explanation", ""))
            for a in sale.order_adjustments or []
        ],
        "member": member,
        "masked_phone": mask_phone(member.phone) if member is not None else "",
        "masked_number": mask_card_number(sale.card.number) if sale.card_id else "",
    }


@login_required
@require_GET
def receipt(request, pk):
    """小票 of a sale: lines, discounts, tenders, coupons, points earned, balances after; 58 or 80 mm (?w=58)."""
    require_till(request.user)
    sale = _sale_or_404(request.user, pk)
    context = _sale_context(sale)
    context["width"] = 58 if request.GET.get("w") == "58" else 80
    context["after"] = _balances_after(sale)
    context["returns"] = _returns_done(sale)
    context["coupons_earned"] = (
        Coupon.objects.filter(member_id=sale.member_id, rule_key=f"spend:{sale.business_ref}"[:120])
        .select_related("template")
        .order_by("pk")
        if sale.member_id
        else []
    )
    return render(request, "pos/till/sale_receipt.html", context)


def _today(store):
    return checkout_sales().filter(store=store, created_at__gte=stored_value.shanghai_day_start())


@login_required
@require_GET
@with_store
def sales_today(request, store):
    """Today's sales of the till's store, newest first, with totals per tender; ?export=xlsx downloads them."""
    sales = _today(store).select_related("member", "actor").prefetch_related("tenders")
    if request.GET.get("export") == "xlsx":
        return _sales_xlsx(store, sales)
    totals = sales.aggregate(count=Count("pk"), due=Sum("total_due"), returned=Sum("returned_due"))
    by_tender = {
        row["tenders__kind"]: row["amount"]
        for row in _today(store).values("tenders__kind").annotate(amount=Sum("tenders__amount"))
        if row["tenders__kind"]
    }
    labels = dict(TenderKind.choices)
    return render(
        request,
        "pos/till/sales_today.html",
        {
            "store": store,
            "page": page_of(request, sales, 50),
            "totals": totals,
            "by_tender": [(labels[kind], by_tender[kind]) for kind in TenderKind.values if kind in by_tender],
        },
    )


def _sales_xlsx(store, sales):
    labels = dict(TenderKind.choices)
    header = [
        _("Time"),
        _("Sale no."),
        _("Member no."),
        _("List total"),
        _("Discount"),
        _("Amount due"),
        _("Tenders"),
        _("Returned"),
        _("Cashier"),
    ]
    rows = (
        [
            timezone.localtime(sale.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            sale.pk,
            # the member's number, not their name: the day's list is for reconciliation, not personal data
            sale.member.member_no if sale.member_id else "",
            fen_to_yuan_str(sale.list_total),
            fen_to_yuan_str(sale.discount_total),
            fen_to_yuan_str(sale.total_due),
            " ".join(f"{labels.get(t.kind, t.kind)} {fen_to_yuan_str(t.amount)}" for t in sale.tenders.all()),
            fen_to_yuan_str(sale.returned_due),
            str(sale.actor or ""),
        ]
        for sale in sales
    )
    day = timezone.localdate().strftime("%Y%m%d")
    return xlsx_response(xlsx_bytes(_("Sales"), header, rows), f"sales-{store.code or store.pk}-{day}.xlsx")


def calculation(lines_due, deduction, repricing) -> dict:
    """A return's refund as the screen and the receipt explain it (sales.returns, fen)."""
    repricing = repricing or {}
    return {
        "lines_due": lines_due,
        "deduction": max(deduction, 0),
        "given_back": max(-deduction, 0),
        "refund": lines_due - deduction,
        "repriced": bool(repricing) and deduction != 0,
        "kept_before": repricing.get("kept_before", 0),
        "kept_now": repricing.get("kept_now", 0),
        "lost": repricing.get("lost", []),
        "gifts": repricing.get("gifts", []),
        # The kept units cost more again than the returned ones were due: the refund stops at nothing.
        "capped": 0 < lines_due <= deduction,
    }


def _returns_done(sale) -> list:
    """The sale's returns, oldest first, each with its tenders labelled and its calculation."""
    labels = dict(TenderKind.choices)
    done = list(sale.returns.select_related("actor").prefetch_related("lines__line").order_by("pk"))
    for row in done:
        row.given = [{**t, "label": labels.get(t.get("kind"), t.get("kind"))} for t in row.tenders]
        row.calc = calculation(row.lines_due or row.amount, row.deduction, row.repricing)
    return done


def _detail(request, sale, *, form=None, error=None, error_code="", status=200, preview=None):
    context = _sale_context(sale)
    asked = form.data if form is not None else {}
    for row in context["lines"]:
        row["asked"] = asked.get(f"qty_{row['line'].pk}", "")
    context.update(
        {
            "asked_reason": asked.get("reason", ""),
            "asked_whole": bool(asked.get("whole")),
            "preview": preview,
            "returns": _returns_done(sale),
            "error": error,
            "error_code": error_code,
            "token": new_token(),
            "refund_limit": refund_approval_limit(),
            "can_return": any(row["left"] for row in context["lines"]),
        }
    )
    return render(request, "pos/till/sale_detail.html", context, status=status)


@login_required
@require_GET
def sale_detail(request, pk):
    """One sale: lines with what came back, tenders, returns so far, and the return form."""
    require_till(request.user)
    return _detail(request, _sale_or_404(request.user, pk))


@login_required
@require_POST
@with_store
def sale_return(request, store, pk):
    """退货 of the whole sale or some units per line; above the refund approval limit only a manager may."""
    user = request.user
    sale = _sale_or_404(user, pk)
    form = ReturnForm(request.POST, lines=list(sale.lines.all()))
    if not form.is_valid():
        return _detail(request, sale, form=form, error=form_error(form), error_code="invalid", status=400)
    data = form.cleaned_data
    lines = form.returned_lines()
    if request.POST.get("preview"):
        return _preview(request, sale, form, lines)
    limit = refund_approval_limit()
    payload = {
        "action": "sale_return",
        "sale": sale.pk,
        "store": store.pk,
        "lines": None if lines is None else {str(k): v for k, v in lines.items()},
        "reason": data["reason"],
    }

    def fn():
        done = returns.return_sale(user, sale, store=store, lines=lines, reason=data["reason"])
        # Counted with what came back before: a large return cannot be split to pass.
        check_refund_approval(user, done.sale.returned_due, limit)
        return 200, {"return": done.pk, "amount": done.amount}

    body, error, code = run_once(request, data["token"], payload, fn)
    if error is not None:
        sale.refresh_from_db()
        return _detail(request, sale, form=form, error=error, error_code=code, status=400)
    messages.success(request, _("¥%(amount)s returned.") % {"amount": fen_to_yuan_str(body["amount"])})
    return redirect("till_sale:sale_detail", pk=sale.pk)


def _preview(request, sale, form, lines):
    """计算退款: what the return would give back and why, nothing written; the form keeps what was typed."""
    try:
        quoted = returns.quote_return(sale, lines)
    except BusinessError as error:
        return _detail(request, sale, form=form, error=str(error.message), error_code=error.code, status=400)
    preview = calculation(quoted.lines_due, quoted.deduction, quoted.repricing)
    return _detail(request, sale, form=form, preview=preview)
