"""The till's sale screen (收银台 开单): card, items, coupons, the quote and the multi-tender payment.

Thin views over sales.checkout (quote, checkout). The cart lives in the session (pos.till_cart); each
change re-renders the workspace with htmx (a plain POST without htmx redirects back to the page).
Paying carries a one-time token used as the idempotency key (scope "till:<staff id>", as the till's
charge does), so a double click or a resubmit takes effect once; the sale's business_ref is derived
from the token. run_idempotent is the transaction boundary: these views run outside any atomic
block. The store is till.cards.till_store (the cashier's own). Receipts, today's sales and
returns are in till.sales.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from onecard.catalog.queries import search_sold_at
from onecard.core.errors import BusinessError
from onecard.core.masking import mask_phone
from onecard.core.permissions import require_perms
from onecard.loyalty.cards.choices import CardKind
from onecard.loyalty.cards.errors import CardNotAccepted
from onecard.loyalty.cards.services import card_balances
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Card
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers.services import member_tier
from onecard.pos.till.actions import form_error, new_token, run_once
from onecard.pos.till.cards import find_cards, mask_card_number, till_store
from onecard.pos.till.cart import (
    CART_DEPENDENT,
    clear_cart,
    load_cart,
    present,
    refusal_message,
    save_cart,
    scanned_product,
)
from onecard.pos.till.forms import TOKEN_PATTERN, PayForm
from onecard.promotions import coupon_redemption
from onecard.promotions.coupon_choices import CouponStatus
from onecard.promotions.coupon_codes import normalize_code
from onecard.promotions.coupon_views import describe
from onecard.promotions.models import Coupon
from onecard.sales import checkout
from onecard.sales.models import TenderKind
from onecard.sales.queries import checkout_sales

TENDER_FIELDS = ("stored_value", "points", "cash", "cash_received", "bank_card", "wechat", "alipay")
MEMBER_COUPONS_SHOWN = 20
PRODUCTS_SHOWN = 12


def require_till(user, perm="till.operate"):
    """403 unless the user holds `perm` (the till's own by default)."""
    require_perms(user, perm)


def store_or_none(request):
    """The till's store for a user who may work the till (None: none picked yet)."""
    require_till(request.user)
    return till_store(request)


def business_ref_for(token) -> str:
    """The sale's reference: derived from the payment token, short enough for the ledger's 64 characters."""
    return f"TILL-{token}"


def _cart_card(store, cart):
    """The card the cart names, if it is still one of the store's merchant (else the cart forgets it)."""
    if not cart.card:
        return None
    card = Card.objects.select_related("product", "member").filter(number=cart.card).first()
    if card is None or card.merchant_id != store.merchant_id:
        cart.card = ""
        return None
    return card


def _member_box(card):
    """Who is buying: member, tier, masked phone and card number, balances (fen) and points."""
    member = card.member
    balances = card_balances(card)
    return {
        "card": card,
        "member": member,
        "tier": member_tier(member) if member is not None else None,
        "masked_phone": mask_phone(member.phone) if member is not None else "",
        "masked_number": mask_card_number(card.number),
        "is_stored_value": card.product.kind == CardKind.STORED_VALUE,
        "principal": balances.get(AccountKind.MEMBER_PRINCIPAL, 0),
        "bonus": balances.get(AccountKind.MEMBER_BONUS, 0),
        "stored_value": balances.get(AccountKind.MEMBER_PRINCIPAL, 0)
        + balances.get(AccountKind.MEMBER_BONUS, 0),
        "points": points.available_points(card),
    }


def member_coupons(member, store, exclude=(), at=None) -> list:
    """The member's coupons usable at `store` now (not in `exclude`), those that expire first first."""
    if member is None:
        return []
    at = at or timezone.now()
    rows = (
        Coupon.objects.filter(
            member=member,
            merchant_id=store.merchant_id,
            status=CouponStatus.ISSUED,
            valid_from__lte=at,
            valid_until__gt=at,
        )
        .exclude(code__in=list(exclude))
        .select_related("template__node")
        .prefetch_related("template__stores")
        .order_by("valid_until", "pk")
    )
    usable = [
        c for c in rows[:100] if coupon_redemption.refusal(c, member=member, store=store, at=at) is None
    ]
    return [{"coupon": c, "gives": describe(c.template)} for c in usable[:MEMBER_COUPONS_SHOWN]]


def _workspace(request, store, cart, *, error=None, error_code="", notice=None, choices=(), values=None):
    """Everything the sale screen shows below its header, the cart priced now; the cart is saved."""
    card = _cart_card(store, cart)
    context = {
        "store": store,
        "cart": cart,
        "box": _member_box(card) if card is not None else None,
        "choices": choices,
        "error": error,
        "error_code": error_code,
        "notice": notice,
        "values": values or {},
        "token": new_token(),
        "quote": None,
        "points_per_yuan": points.policy_for(store.merchant_id).points_per_yuan,
    }
    if cart.items:
        try:
            quoted = checkout.quote(store.merchant, store, card, cart.as_items(), cart.coupons)
        except BusinessError as exc:
            context["error"] = context["error"] or str(exc.message)
            context["error_code"] = context["error_code"] or exc.code
        else:
            context["quote"] = present(cart, quoted)
    member = card.member if card is not None else None
    context["member_coupons"] = member_coupons(member, store, exclude=cart.coupons)
    threshold = card.effective_password_threshold if card is not None else None
    context["needs_password"] = (
        card is not None and card.has_password and threshold is not None and context["box"]["is_stored_value"]
    )
    context["password_threshold"] = threshold
    save_cart(request.session, store, cart)
    return context


def _render_page(request, store, cart, status=200, **kwargs):
    context = _workspace(request, store, cart, **kwargs)
    return render(request, "pos/till/sale.html", context, status=status)


def _after_change(request, store, cart, *, error=None, error_code="", notice=None, choices=()):
    """htmx: the workspace again (200, so htmx swaps it); without htmx: back to the page (post/redirect/get)."""
    values = {k: request.POST.get(k, "") for k in TENDER_FIELDS if request.POST.get(k)}
    if request.htmx:
        context = _workspace(
            request,
            store,
            cart,
            error=error,
            error_code=error_code,
            notice=notice,
            choices=choices,
            values=values,
        )
        return render(request, "pos/till/_workspace.html", context)
    save_cart(request.session, store, cart)
    if error:
        messages.error(request, error)
    elif notice:
        messages.info(request, notice)
    return redirect("till_sale:sale")


def _after_attempt(request, store, cart, change):
    """Make `change()` to the cart, then answer as _after_change: with the notice it returns, or its refusal."""
    try:
        notice = change()
    except BusinessError as exc:
        return _after_change(request, store, cart, error=str(exc.message), error_code=exc.code)
    return _after_change(request, store, cart, notice=notice)


def with_store(view):
    """A view of the till's store: `view(request, store, ...)`; no store picked yet: back to the cashier desk."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        store = store_or_none(request)
        if store is None:
            return no_store(request)
        return view(request, store, *args, **kwargs)

    return wrapped


def with_cart(view):
    """A sale view that works on the till store's cart: `view(request, store, cart)`."""

    @with_store
    @functools.wraps(view)
    def wrapped(request, store):
        return view(request, store, load_cart(request.session, store))

    return wrapped


def no_store(request):
    """Back to the cashier desk, where staff above store level pick the till's store."""
    messages.error(request, _("Pick the store this till works for."))
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("till:cashier")
        return response
    return redirect("till:cashier")


# ---- the sale in progress ---------------------------------------------------------------------------------


@login_required
@require_GET
@with_cart
def sale(request, store, cart):
    """开单: the item field (autofocus; a scanner types the code and Enter), the card, coupons, quote and pay."""
    return _render_page(request, store, cart)


@login_required
@require_POST
@with_cart
def scan_card(request, store, cart):
    """The member's card by number, QR code or phone (as the cashier desk finds it); several: a choice."""
    card, choices, error = find_cards(store, request.POST.get("q", ""))
    if card is not None and card.merchant_id != store.merchant_id:
        card, error = None, str(CardNotAccepted.default_message)
    if card is not None:
        cart.card = card.number
    elif not error and not choices:
        error = _("Scan or type a card number, member QR code or phone.")
    return _after_change(request, store, cart, error=error, choices=choices)


@login_required
@require_POST
@with_cart
def drop_card(request, store, cart):
    """Sell without the card (anonymously); its coupons stay listed and show why they no longer apply."""
    cart.card = ""
    return _after_change(request, store, cart)


@login_required
@require_POST
@with_cart
def scan_item(request, store, cart):
    """One unit of the product whose SKU or barcode was scanned: a new line, or one more on its line."""

    def add_scanned():
        cart.add(scanned_product(store, request.POST.get("code", "")).sku)

    return _after_attempt(request, store, cart, add_scanned)


@login_required
@require_GET
@with_store
def search_products(request, store):
    """htmx: the store's products matching a name, pinyin initials, barcode or SKU, with prices, to add."""
    q = request.GET.get("q", "").strip()
    products = search_sold_at(store, q, limit=PRODUCTS_SHOWN) if q else []
    return render(request, "pos/till/_product_results.html", {"q": q, "products": products})


def _quantity(text):
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
@with_cart
def set_quantity(request, store, cart):
    """The quantity of a line typed by the cashier (0 removes the line)."""
    sku = request.POST.get("sku", "")
    if not cart.quantity_of(sku):
        return _after_change(request, store, cart, error=_("This line is no longer in the cart."))

    def set_typed_quantity():
        cart.set_quantity(sku, _quantity(request.POST.get("quantity")))

    return _after_attempt(request, store, cart, set_typed_quantity)


@login_required
@require_POST
@with_cart
def remove_item(request, store, cart):
    """Take a line out of the cart."""
    cart.set_quantity(request.POST.get("sku", ""), 0)
    return _after_change(request, store, cart)


@login_required
@require_POST
@with_cart
def add_coupon(request, store, cart):
    """A coupon code scanned or typed, or picked from the member's coupons; a refused one says why."""
    code = normalize_code(request.POST.get("code", ""))
    if not code:
        return _after_change(request, store, cart, error=_("Scan or type the coupon code."))
    card = _cart_card(store, cart)
    member = card.member if card is not None else None
    _offers, refused = coupon_redemption.sort_codes(member, store, timezone.now(), [code])
    reason = refused.get(code)
    if reason and reason not in CART_DEPENDENT:
        return _after_change(request, store, cart, error=refusal_message(reason), error_code=reason)

    def apply_coupon():
        return None if cart.add_coupon(code) else _("This coupon is applied already.")

    return _after_attempt(request, store, cart, apply_coupon)


@login_required
@require_POST
@with_cart
def remove_coupon(request, store, cart):
    """Stop using a coupon for this sale."""
    cart.remove_coupon(normalize_code(request.POST.get("code", "")))
    return _after_change(request, store, cart)


@login_required
@require_POST
def clear(request):
    """下一位 / cancel: forget the card, the lines and the coupons of the sale in progress."""
    store = store_or_none(request)
    if store is not None:
        clear_cart(request.session, store)
    return redirect("till_sale:sale")


# ---- paying -----------------------------------------------------------------------------------------------


@login_required
@require_POST
@with_cart
def pay(request, store, cart):
    """收款: check out the cart with the tenders typed; any refusal takes nothing and keeps the cart."""
    user = request.user
    form = PayForm(request.POST)
    values = {k: request.POST.get(k, "") for k in TENDER_FIELDS if request.POST.get(k)}

    def refuse(message, code=""):
        return _render_page(request, store, cart, status=400, error=message, error_code=code, values=values)

    token = request.POST.get("token", "")
    if TOKEN_PATTERN.fullmatch(token):
        # The same token again after the sale went through (a resubmit): show that sale's receipt.
        done = (
            checkout_sales()
            .filter(merchant_id=store.merchant_id, business_ref=business_ref_for(token), actor=user)
            .first()
        )
        if done is not None:
            clear_cart(request.session, store)
            return redirect("till_sale:receipt", pk=done.pk)
    if not form.is_valid():
        return refuse(form_error(form), "invalid")
    card = _cart_card(store, cart)
    items = cart.as_items()
    tenders = form.tenders()
    try:
        quoted = checkout.quote(store.merchant, store, card, items, cart.coupons)
        # A coupon used, expired or cancelled since it was scanned stops the sale with its reason;
        # one that does not apply to this cart (below its minimum spend) is shown as such and not sent.
        stopping = [
            reason for reason in quoted.quote.coupons_refused.values() if reason not in CART_DEPENDENT
        ]
        if stopping:
            return refuse(refusal_message(stopping[0]), stopping[0])
        codes = list(quoted.quote.coupons_applied)
        sv_amount = tenders.get(TenderKind.STORED_VALUE, 0)
        if card is not None and sv_amount and card.password_required_for(sv_amount):
            # Its own transaction, before the sale's: a wrong try counts even though the sale is refused.
            stored_value.check_pay_password(card, sv_amount, form.cleaned_data.get("password") or None)
    except BusinessError as exc:
        return refuse(str(exc.message), exc.code)
    payload = {
        "action": "sale",
        "store": store.pk,
        "card": card.number if card is not None else "",
        "items": items,
        "coupons": codes,
        "tenders": tenders,
        "cash_received": form.cleaned_data.get("cash_received") or 0,
    }

    def fn():
        sold = checkout.checkout(
            user,
            store=store,
            card=card,
            items=items,
            coupon_codes=codes,
            tenders=tenders,
            business_ref=business_ref_for(token),
            cash_received=form.cleaned_data.get("cash_received") or None,
        )
        return 200, {"sale": sold.pk}

    body, error, code = run_once(request, token, payload, fn)
    if error is not None:
        return refuse(error, code)
    clear_cart(request.session, store)
    return redirect("till_sale:receipt", pk=body["sale"])
