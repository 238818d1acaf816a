"""Count and period cards at the till (/till/packages/...): the panel of the card on screen, sell, use, refund.

The panel (`loyalty/packages/_panel.html`) is loaded by the cashier screen's member panel; its forms post with
htmx and get the refreshed panel back. Each form carries a one-time token used as the idempotency key
(till.actions), so a double click sells or uses once; the store is the till's (till.cards.store_or_404).
Refunds whose payout passes the till's approval limit need till.refund_large.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from onecard.core.errors import BusinessError
from onecard.loyalty.cards.errors import CardNotFound
from onecard.loyalty.models import Card, MemberPackage, ServicePackage
from onecard.loyalty.packages import services as packages
from onecard.pos.till.actions import (
    check_refund_approval,
    form_error,
    new_token,
    refund_approval_limit,
    run_once,
    till_action,
    yuan,
)
from onecard.pos.till.card_forms import (
    REFUND_METHODS,
    TENDERS,
    RefundPackageForm,
    SellPackageForm,
    UsePackageForm,
)
from onecard.pos.till.cards import store_or_404
from onecard.sales import services as sales


def _card(store, number) -> Card:
    card = (
        Card.objects.select_related("product", "member")
        .filter(number=(number or "").strip(), merchant_id=store.merchant_id)
        .first()
    )
    if card is None:
        raise CardNotFound(extra={"number": (number or "")[:40]})
    return card


# ---- the till panel -------------------------------------------------------------------------------------


def panel_context(card, store, *, error=None, message=None) -> dict:
    """The card's open packages (uses left, validity, refund quote), the packages on sale here, fresh tokens."""
    now = timezone.now()
    rows = []
    for mp in packages.card_packages(card):
        _catch_up, refund = packages.refund_quote(mp, now)
        rows.append(
            {
                "mp": mp,
                "lines": list(mp.lines.all()),
                "price": yuan(mp.price),
                "outstanding": yuan(mp.outstanding),
                "refund": yuan(refund),
                "expired": packages.is_expired(mp, now),
                "use_token": new_token(),
                "refund_token": new_token(),
            }
        )
    catalog = ServicePackage.objects.filter(merchant_id=store.merchant_id, is_active=True).prefetch_related(
        "stores", "lines"
    )
    return {
        "card": card,
        "store": store,
        "packages": rows,
        "catalog": [{"package": p, "price": yuan(p.price)} for p in catalog if p.accepts_store(store)],
        "tenders": TENDERS,
        "refund_methods": REFUND_METHODS,
        "sell_token": new_token(),
        "refund_limit": yuan(refund_approval_limit()),
        "package_error": error,
        "package_message": message,
    }


def _render_panel(request, card, store, *, error=None, message=None):
    # htmx swaps 2xx answers only: a refusal comes back as 200 to an htmx form, 400 to a plain one.
    status = 400 if error and not request.htmx else 200
    context = panel_context(card, store, error=error, message=message)
    return render(request, "loyalty/packages/_panel.html", context, status=status)


@login_required
@require_GET
def panel(request):
    """htmx: the packages panel of the card on the till screen (?card=<number>)."""
    store = store_or_404(request)
    try:
        card = _card(store, request.GET.get("card"))
    except BusinessError as exc:
        raise Http404(str(exc.message)) from exc
    return _render_panel(request, card, store)


def _act(request, form_class, do):
    """Validate, find the card, run `do(data, card, store) -> (payload, fn, message)` once per token."""
    store = store_or_404(request)
    try:
        card = _card(store, request.POST.get("card"))
    except BusinessError as exc:
        raise Http404(str(exc.message)) from exc
    form = form_class(request.POST)
    if not form.is_valid():
        return _render_panel(request, card, store, error=form_error(form))
    data = form.cleaned_data
    try:
        payload, fn, message = do(data, card, store)
    except BusinessError as exc:
        return _render_panel(request, card, store, error=str(exc.message))
    body, error, _code = run_once(request, data["token"], payload, fn)
    if error is not None:
        return _render_panel(request, card, store, error=error)
    return _render_panel(request, card, store, message=message(body))


def _member_package(card, pk) -> MemberPackage:
    row = MemberPackage.objects.filter(pk=pk, card=card).select_related("card").first()
    if row is None:
        raise packages.PackageNotFound()
    return row


@till_action(_act, SellPackageForm)
def sell(request, data, card, store):
    """Sell a package to the card on screen, paid at this till."""
    package = ServicePackage.objects.filter(pk=data["package"], merchant_id=store.merchant_id).first()
    if package is None:
        raise packages.PackageNotFound()
    payload = {
        "action": "package_sell",
        "card": card.number,
        "package": package.pk,
        "tender": data["tender"],
    }

    def fn():
        sold = packages.sell_package(request.user, card, package, store=store, tender=data["tender"])
        return 200, {"package": sold.pk, "name": sold.name, "price": sold.price}

    def message(body):
        return _("Sold %(name)s for ¥%(price)s.") % {"name": body["name"], "price": yuan(body["price"])}

    return payload, fn, message


@till_action(_act, UsePackageForm)
def use(request, data, card, store):
    """Use a package of the card on screen: `count` times one service."""
    mp = _member_package(card, data["package"])
    payload = {
        "action": "package_use",
        "package": mp.pk,
        "service": data["service"],
        "count": data["count"],
    }

    def fn():
        done = sales.use_package(request.user, mp, data["service"], store=store, count=data["count"])
        return 200, {"use": done.pk, "service": done.service, "count": done.count}

    def message(body):
        return _("Used: %(service)s × %(count)s.") % {"service": body["service"], "count": body["count"]}

    return payload, fn, message


@till_action(_act, RefundPackageForm)
def refund(request, data, card, store):
    """Refund the unused part of a package; above the till's approval limit only a manager may."""
    mp = _member_package(card, data["package"])
    _catch_up, amount = packages.refund_quote(mp)
    check_refund_approval(request.user, amount)
    payload = {
        "action": "package_refund",
        "package": mp.pk,
        "method": data["method"],
        "reason": data["reason"],
    }

    def fn():
        done = packages.refund_package(
            request.user, mp, store=store, reason=data["reason"], method=data["method"]
        )
        return 200, {"package": done.pk, "refunded": done.refunded}

    def message(body):
        return _("Refunded ¥%(amount)s.") % {"amount": yuan(body["refunded"])}

    return payload, fn, message
