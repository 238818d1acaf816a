"""The cashier screen (收银台): look a card up, then top up, charge, refund or redeem points; receipts.

Every money action carries a one-time token used as the idempotency key (till.actions), so a double
click or a browser resubmit takes effect once and shows the same receipt. run_idempotent is the
transaction boundary: these views run outside any atomic block.
The store of every operation is the cashier's own store; staff placed above stores pick one of the
stores in their scope (kept in the session).
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from onecard.core.errors import BusinessError
from onecard.core.masking import mask_phone
from onecard.core.permissions import require_perms
from onecard.core.scoping import node_in_scope, scope_node_ids
from onecard.core.validators import InvalidValue, normalize_phone
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.cards.errors import CardNotFound
from onecard.loyalty.cards.services import card_balances, card_in_scope, resolve_card
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, Card, CardTransaction, Posting
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.loyalty.points import services as points_service
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.stored_value.prepaid_views import agreement_panel_context
from onecard.loyalty.tiers.services import member_tier
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode
from onecard.org.till_login import TILL_STORE_SESSION_KEY
from onecard.pos.till.actions import (
    check_refund_approval,
    form_error,
    new_token,
    refund_approval_limit,
    run_once,
    till_action,
    yuan,
)
from onecard.pos.till.card_forms import TENDERS, ChargeForm, RedeemForm, RefundForm, TopupForm, VoidForm
from onecard.pos.till.voids import approver_from, void_offer
from onecard.sales import services as sales

SESSION_STORE = TILL_STORE_SESSION_KEY  # the quick log-in (换人) sets it too
PASSWORD_CODES = {"card_password_required", "wrong_card_password"}
REFUNDABLE_KINDS = (CardTxKind.CHARGE, CardTxKind.CAPTURE)


def mask_card_number(number: str) -> str:
    """8800 **** 1234: the first and last four digits."""
    if len(number) <= 8:
        return number
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


def _stores_in_scope(user):
    stores = OrgNode.objects.filter(kind=NodeKind.STORE, is_active=True)
    if user.node_id:
        stores = stores.filter(merchant_id=user.node.merchant_id)
    ids = scope_node_ids(user)
    if ids is not None:
        stores = stores.filter(id__in=ids)
    return stores.select_related("merchant").order_by("path")


def till_store(request):
    """The store the till works for: the staff's own store, or the one picked from their scope."""
    user = request.user
    if user.node_id and user.node.kind == NodeKind.STORE:
        return user.node
    pk = request.session.get(SESSION_STORE)
    return _stores_in_scope(user).filter(pk=pk).first() if pk else None


# ---- lookup --------------------------------------------------------------------------------------------


def find_cards(store, text):
    """(card, choices, error message) for what was scanned or typed: card no., QR, RFID or phone."""
    text = (text or "").strip()
    if not text:
        return None, [], None
    try:
        return resolve_card(text, store=store), [], None
    except CardNotFound as exc:
        not_found = str(exc.message)
    except BusinessError as exc:
        return None, [], str(exc.message)
    try:
        phone = normalize_phone(text)
    except InvalidValue:
        return None, [], not_found
    rows = Card.objects.filter(
        member__merchant_id=store.merchant_id, member__phone=phone, status=CardStatus.ACTIVE
    ).select_related("product", "member", "issued_store")
    found = [card for card in rows.order_by("number") if card.product.accepts_store(store)]
    if len(found) == 1:
        return found[0], [], None
    if found:
        return None, found, None
    return None, [], not_found


def _card_by_number(store, number):
    """The card an action names (by number, as the panel shows it); the services check its status.

    A card of the store's merchant, or of an alliance merchant whose product is accepted here.
    """
    card = (
        Card.objects.select_related("product", "member", "issued_store")
        .filter(number=(number or "").strip())
        .first()
    )
    if card is None or (card.merchant_id != store.merchant_id and not card.product.accepts_store(store)):
        raise CardNotFound(extra={"number": (number or "")[:40]})
    return card


def panel_context(card, *, needs_password=False, values=None):
    """What the member panel shows of a card: member, tier, balances, recent charges, fresh tokens."""
    member = card.member
    tier = member_tier(member) if member is not None else None
    rate = Decimal(tier.discount_rate) if tier is not None else Decimal(1)
    balances = card_balances(card)
    charges = CardTransaction.objects.filter(
        card=card, kind__in=REFUNDABLE_KINDS, refunded_total__lt=F("amount")
    ).order_by("-id")[:20]
    return {
        "card": card,
        "member": member,
        "masked_phone": mask_phone(member.phone) if member is not None else "",
        "masked_number": mask_card_number(card.number),
        "tier": tier,
        "rate": rate,
        "has_discount": rate < 1,
        "principal": yuan(balances.get(AccountKind.MEMBER_PRINCIPAL)),
        "bonus": yuan(balances.get(AccountKind.MEMBER_BONUS)),
        "held": yuan(balances.get(AccountKind.HOLD_RESERVE)),
        "points": points_service.available_points(card),
        "is_stored_value": card.product.kind == "stored_value",
        "charges": [
            {"tx": tx, "amount": yuan(tx.amount), "left": yuan(tx.amount - tx.refunded_total)}
            for tx in charges
        ],
        "tenders": TENDERS,
        # Cards with a password show its field; the service asks for it only above the threshold.
        "needs_password": needs_password or card.has_password,
        "tokens": {name: new_token() for name in ("topup", "charge", "refund", "redeem")},
        "values": values or {},
        "refund_limit": yuan(refund_approval_limit()),
        **(
            agreement_panel_context(member, f"{reverse('till:cashier')}?card={card.number}")
            if member is not None
            else {}
        ),
    }


def store_or_404(request):
    """The till's store for a user who may work the till; a 404 while none is picked (htmx parts of the page)."""
    require_perms(request.user, "till.operate")
    store = till_store(request)
    if store is None:
        raise Http404(_("Pick a store first."))
    return store


def _page(request, store, *, q="", card=None, choices=(), error=None, panel=None, status=200):
    context = {
        "store": store,
        "stores": []
        if store is not None and request.user.node_id == store.pk
        else _stores_in_scope(request.user),
        "q": q,
        "choices": choices,
        "error": error,
    }
    if card is not None:
        context.update(panel or panel_context(card))
    return render(request, "loyalty/cashier.html", context, status=status)


@login_required
@require_GET
def cashier(request):
    """收银台: the card field (autofocus; a keyboard-wedge reader ends with Enter) and the member panel."""
    require_perms(request.user, "till.operate")
    store = till_store(request)
    if store is None:
        return _page(request, None)
    q = request.GET.get("q", "")
    card, choices, error = find_cards(store, q or request.GET.get("card", ""))
    return _page(request, store, q=q, card=card, choices=choices, error=error)


@login_required
@require_POST
def choose_store(request):
    """Staff above store level pick the store the till works for (one in their scope)."""
    require_perms(request.user, "till.operate")
    store = _stores_in_scope(request.user).filter(pk=request.POST.get("store") or 0).first()
    if store is None:
        messages.error(request, _("Pick a store in your part of the organisation."))
    else:
        request.session[SESSION_STORE] = store.pk
    return redirect("till:cashier")


@login_required
@require_GET
def lookup(request):
    """htmx: the member panel (or a choice of cards, or the refusal) for what was scanned."""
    store = store_or_404(request)
    card, choices, error = find_cards(store, request.GET.get("q", ""))
    context = {"store": store, "choices": choices, "error": error}
    if card is not None:
        context.update(panel_context(card))
    return render(request, "loyalty/_panel.html", context)


@login_required
@require_GET
def charge_quote(request):
    """htmx: the tier discount and the amount due for a list amount; the password field when needed."""
    store = store_or_404(request)
    context = {}
    try:
        card = _card_by_number(store, request.GET.get("card"))
        form = ChargeForm({"card": card.number, "token": "x", "amount": request.GET.get("amount", "")})
        if form.is_valid():
            list_amount = form.cleaned_data["amount"]
            due = stored_value.amount_due(card, list_amount)
            context = {
                "list_fen": list_amount,
                "list_amount": yuan(list_amount),
                "discount": yuan(list_amount - due),
                "due": yuan(due),
                "needs_password": card.password_required_for(due),
            }
    except BusinessError as exc:
        context = {"quote_error": str(exc.message)}
    return render(request, "loyalty/_charge_quote.html", context)


# ---- actions -------------------------------------------------------------------------------------------


def _action(request, form_class, do):
    """Validate, resolve the card, run `do(data, card, store) -> (payload, fn, after)` once per token."""
    user = request.user
    require_perms(user, "till.operate")
    store = till_store(request)
    if store is None:
        return redirect("till:cashier")
    form = form_class(request.POST)
    card = None
    try:
        card = _card_by_number(store, request.POST.get("card"))
    except BusinessError as exc:
        return _page(request, store, error=str(exc.message), status=400)
    values = {k: v for k, v in request.POST.items() if k not in {"csrfmiddlewaretoken", "token", "password"}}
    if not form.is_valid():
        panel = panel_context(card, values=values)
        return _page(request, store, card=card, error=form_error(form), panel=panel, status=400)
    try:
        payload, fn, after = do(form.cleaned_data, card, store)
        body, error, _code = run_once(request, form.cleaned_data["token"], payload, fn)
    except BusinessError as exc:
        body, error = None, str(exc.message)
        needs_password = getattr(exc, "code", "") in PASSWORD_CODES
    else:
        needs_password = False
    if error is not None:
        panel = panel_context(card, needs_password=needs_password, values=values)
        return _page(request, store, card=card, error=error, panel=panel, status=400)
    return after(body)


def _to_receipt(body):
    return redirect("till:receipt", pk=body["tx"])


def _with_receipt(payload, write):
    """What an action answers when its `write()` makes one card transaction: its receipt follows."""

    def fn():
        return 200, {"tx": write().pk}

    return payload, fn, _to_receipt


@till_action(_action, TopupForm)
def topup(request, data, card, store):
    """充值 in yuan by cash, bank card, WeChat or Alipay."""
    payload = {"action": "topup", "card": card.number, "amount": data["amount"], "tender": data["tender"]}
    return _with_receipt(
        payload,
        lambda: stored_value.topup(request.user, card, data["amount"], store=store, tender=data["tender"]),
    )


@till_action(_action, ChargeForm)
def charge(request, data, card, store):
    """消费 of a list amount: the tier discount applies; the card password when the card asks for it."""
    payload = {"action": "charge", "card": card.number, "amount": data["amount"]}
    due = stored_value.amount_due(card, data["amount"])
    if card.password_required_for(due):
        # Its own transaction, before run_idempotent: a wrong try counts even if the sale is refused.
        stored_value.check_charge_password(card, data["amount"], data.get("password") or None)
    return _with_receipt(payload, lambda: sales.charge_card(request.user, card, data["amount"], store=store))


@till_action(_action, RefundForm)
def refund(request, data, card, store):
    """退款 of a recent charge of this card; above the approval limit only a manager may refund."""
    original = CardTransaction.objects.filter(
        pk=data["original"], card=card, kind__in=REFUNDABLE_KINDS
    ).first()
    if original is None:
        raise BusinessError(_("Pick a charge of this card to refund."), code="no_such_charge")
    # Counted with what was refunded of the charge before: a large refund cannot be split to pass.
    check_refund_approval(request.user, original.refunded_total + data["amount"])
    payload = {
        "action": "refund",
        "original": original.pk,
        "amount": data["amount"],
        "reason": data["reason"],
    }
    return _with_receipt(
        payload,
        lambda: sales.refund_charge(
            request.user, original, data["amount"], store=store, reason=data["reason"]
        ),
    )


@till_action(_action, RedeemForm)
def redeem(request, data, card, store):
    """积分抵扣: spend points of the card, the lots that expire first first."""
    payload = {"action": "redeem", "card": card.number, "points": data["points"]}

    def fn():
        points_service.redeem(request.user, card, data["points"], store=store)
        return 200, {"points": data["points"], "card": card.number}

    def after(body):
        messages.success(request, _("%(points)s points redeemed.") % {"points": body["points"]})
        return redirect(f"{reverse('till:cashier')}?card={body['card']}")

    return payload, fn, after


@login_required
@require_POST
def void(request):
    """撤销 a top-up or charge from its receipt, once per token; its receipt (or the refusal) follows."""
    require_perms(request.user, "till.operate")
    store = till_store(request)
    form = VoidForm(request.POST)
    pk = request.POST.get("original", "")
    original = None
    if pk.isascii() and pk.isdigit():
        original = CardTransaction.objects.select_related("store").filter(pk=int(pk)).first()
    if store is None or original is None or not transaction_visible(request.user, original):
        raise Http404(_("No such receipt."))
    error = form_error(form) if not form.is_valid() else None
    if error is None:
        data = form.cleaned_data
        try:
            approver = approver_from(request, data["manager"], data["manager_password"])
            payload = {"action": "void", "original": original.pk, "reason": data["reason"],
                       "approver": approver.pk if approver is not None else None}  # fmt: skip

            def fn():
                tx = sales.void_card_transaction(
                    request.user, original, store=store, reason=data["reason"], approver=approver
                )
                return 200, {"tx": tx.pk}

            body, error, _code = run_once(request, data["token"], payload, fn)
        except BusinessError as exc:
            error = str(exc.message)
    if error is not None:
        messages.error(request, error)
        return redirect("till:receipt", pk=original.pk)
    messages.success(request, _("Voided: the card is back to its balance before it."))
    return _to_receipt(body)


# ---- receipt -------------------------------------------------------------------------------------------


def balance_after(card_id, kind, entry_id):
    """The balance of the card's account of `kind` right after journal entry `entry_id` (fen)."""
    account = Account.objects.filter(card_id=card_id, kind=kind).first()
    if account is None or entry_id is None:
        return 0
    posting = Posting.objects.filter(account=account, entry_id__lte=entry_id).order_by("-seq").first()
    return posting.balance_after if posting else 0


def transaction_visible(user, tx) -> bool:
    """Staff see receipts of their own operations, of stores in their scope and of cards in their scope."""
    return tx.actor_id == user.pk or node_in_scope(user, tx.store) or card_in_scope(user, tx.card)


@login_required
@require_GET
def receipt(request, pk):
    """小票 of one card transaction, printable on 58 or 80 mm paper (?w=58)."""
    user = request.user
    if not (user.has_perm("till.operate") or user.has_perm("cards.view")):
        raise Forbidden("till.operate")
    tx = (
        CardTransaction.objects.select_related(
            "card", "card__member", "card__issued_store", "member", "store", "actor"
        )
        .filter(pk=pk)
        .first()
    )
    if tx is None or not transaction_visible(user, tx):
        raise Http404(_("No such receipt."))
    width = 58 if request.GET.get("w") == "58" else 80
    principal_after = balance_after(tx.card_id, AccountKind.MEMBER_PRINCIPAL, tx.entry_id)
    bonus_after = balance_after(tx.card_id, AccountKind.MEMBER_BONUS, tx.entry_id)
    member = tx.member or tx.card.member
    return render(
        request,
        "loyalty/receipt.html",
        {
            "tx": tx,
            "width": width,
            "masked_number": mask_card_number(tx.card.number),
            "member": member,
            "masked_phone": mask_phone(member.phone) if member is not None else "",
            "list_amount": yuan(tx.list_amount or tx.amount),
            "discount": yuan(tx.discount),
            "amount": yuan(tx.amount),
            "principal": yuan(tx.principal),
            "bonus": yuan(tx.bonus),
            "rebate_bonus": yuan(tx.rebate_bonus),
            "principal_after": yuan(principal_after),
            "bonus_after": yuan(bonus_after),
            "total_after": yuan(principal_after + bonus_after),
            "tender_label": dict(TENDERS).get(tx.tender, tx.tender),
            "void": void_offer(user, tx, till_store(request) if user.has_perm("till.operate") else None),
            "void_of": CardTransaction.objects.filter(original=tx, kind=CardTxKind.VOID).first(),
        },
    )
