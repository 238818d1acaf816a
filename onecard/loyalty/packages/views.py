"""Count and period cards at the till (/till/packages/...) and the package definitions page.

The till part is a panel (`loyalty/packages/_panel.html`) the cashier screen's member panel loads
for the card on screen (`_panel_slot.html`); its forms post with htmx and get the refreshed panel
back, with a message or the refusal. Like the other till actions, each form carries a one-time
token used as the idempotency key (scope "till:<staff id>"), so a double click sells or uses once;
the store is the till's (views.till_store). Refunds whose payout passes the till's approval
limit need till.refund_large. Definitions (list, create, edit, take off sale) need products.manage.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.idempotency import run_idempotent
from onecard.core.money import fen_to_yuan_str
from onecard.loyalty.cards.errors import CardNotFound
from onecard.loyalty.models import Card, MemberPackage, ServicePackage
from onecard.loyalty.packages import services as packages
from onecard.loyalty.packages.forms import (
    REFUND_METHODS,
    PackageDefinitionForm,
    RefundPackageForm,
    SellPackageForm,
    UsePackageForm,
)
from onecard.loyalty.till.forms import TENDERS
from onecard.loyalty.till.views import RefundNeedsManager, refund_approval_limit, till_store
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

MEMBER_SECTION = {
    "key": "packages",
    "title": gettext_lazy("次卡/期限卡 Packages"),
    "empty": gettext_lazy("No packages yet."),
    "template": "loyalty/packages/member_section.html",
}


def register_member_section():
    """Add the "Packages" section to the member 360 page, after the transactions (once; from AppConfig.ready)."""
    from onecard.members.views import MEMBER_SECTIONS

    if any(section["key"] == MEMBER_SECTION["key"] for section in MEMBER_SECTIONS):
        return
    keys = [section["key"] for section in MEMBER_SECTIONS]
    at = keys.index("transactions") + 1 if "transactions" in keys else len(keys)
    MEMBER_SECTIONS.insert(at, dict(MEMBER_SECTION))


def _require(user, perm):
    if not user.has_perm(perm):
        raise Forbidden(perm)


def _yuan(fen) -> str:
    return fen_to_yuan_str(fen or 0)


def _token() -> str:
    return uuid.uuid4().hex


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
                "price": _yuan(mp.price),
                "outstanding": _yuan(mp.outstanding),
                "refund": _yuan(refund),
                "expired": packages.is_expired(mp, now),
                "use_token": _token(),
                "refund_token": _token(),
            }
        )
    catalog = ServicePackage.objects.filter(merchant_id=store.merchant_id, is_active=True).prefetch_related(
        "stores", "lines"
    )
    return {
        "card": card,
        "store": store,
        "packages": rows,
        "catalog": [{"package": p, "price": _yuan(p.price)} for p in catalog if p.accepts_store(store)],
        "tenders": TENDERS,
        "refund_methods": REFUND_METHODS,
        "sell_token": _token(),
        "refund_limit": _yuan(refund_approval_limit()),
        "package_error": error,
        "package_message": message,
    }


def _render_panel(request, card, store, *, error=None, message=None):
    # htmx swaps 2xx answers only: a refusal comes back as 200 to an htmx form, 400 to a plain one.
    status = 400 if error and not request.htmx else 200
    context = panel_context(card, store, error=error, message=message)
    return render(request, "loyalty/packages/_panel.html", context, status=status)


def _till(request):
    _require(request.user, "till.operate")
    store = till_store(request)
    if store is None:
        raise Http404(_("Pick a store first."))
    return store


@login_required
@require_GET
def panel(request):
    """htmx: the packages panel of the card on the till screen (?card=<number>)."""
    store = _till(request)
    try:
        card = _card(store, request.GET.get("card"))
    except BusinessError as exc:
        raise Http404(str(exc.message)) from exc
    return _render_panel(request, card, store)


def _act(request, form_class, do):
    """Validate, find the card, run `do(data, card, store) -> (payload, fn, message)` once per token."""
    store = _till(request)
    try:
        card = _card(store, request.POST.get("card"))
    except BusinessError as exc:
        raise Http404(str(exc.message)) from exc
    form = form_class(request.POST)
    if not form.is_valid():
        error = " ".join(str(m) for errors in form.errors.values() for m in errors)
        return _render_panel(request, card, store, error=error)
    data = form.cleaned_data
    try:
        payload, fn, message = do(data, card, store)
        result = run_idempotent(data["token"], payload, fn, scope=f"till:{request.user.pk}")
    except BusinessError as exc:
        return _render_panel(request, card, store, error=str(exc.message))
    if result.status >= 300:
        detail = result.body.get("detail") or _("The request could not be processed.")
        return _render_panel(request, card, store, error=str(detail))
    return _render_panel(request, card, store, message=message(result.body))


def _member_package(card, pk) -> MemberPackage:
    row = MemberPackage.objects.filter(pk=pk, card=card).select_related("card").first()
    if row is None:
        raise packages.PackageNotFound()
    return row


@login_required
@require_POST
def sell(request):
    """Sell a package to the card on screen, paid at this till."""

    def do(data, card, store):
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
            return _("Sold %(name)s for ¥%(price)s.") % {"name": body["name"], "price": _yuan(body["price"])}

        return payload, fn, message

    return _act(request, SellPackageForm, do)


@login_required
@require_POST
def use(request):
    """Use a package of the card on screen: `count` times one service."""

    def do(data, card, store):
        mp = _member_package(card, data["package"])
        payload = {
            "action": "package_use",
            "package": mp.pk,
            "service": data["service"],
            "count": data["count"],
        }

        def fn():
            done = packages.use_package(request.user, mp, data["service"], store=store, count=data["count"])
            return 200, {"use": done.pk, "service": done.service, "count": done.count}

        def message(body):
            return _("Used: %(service)s × %(count)s.") % {"service": body["service"], "count": body["count"]}

        return payload, fn, message

    return _act(request, UsePackageForm, do)


@login_required
@require_POST
def refund(request):
    """Refund the unused part of a package; above the till's approval limit only a manager may."""

    def do(data, card, store):
        mp = _member_package(card, data["package"])
        _catch_up, amount = packages.refund_quote(mp)
        limit = refund_approval_limit()
        if amount > limit and not request.user.has_perm("till.refund_large"):
            raise RefundNeedsManager(
                _("Refunds above ¥%(limit)s need a store manager.") % {"limit": fen_to_yuan_str(limit)}
            )
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
            return _("Refunded ¥%(amount)s.") % {"amount": _yuan(body["refunded"])}

        return payload, fn, message

    return _act(request, RefundPackageForm, do)


# ---- definitions ----------------------------------------------------------------------------------------


def _merchant(request):
    _require(request.user, "products.manage")
    node = request.user.node
    if node is None:
        raise Http404(_("Package definitions belong to a merchant; sign in as its staff."))
    return node.merchant


def _store_choices(merchant):
    return OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE, is_active=True).order_by("path")


@login_required
@require_GET
def definitions(request):
    """The merchant's package definitions, on sale first."""
    merchant = _merchant(request)
    rows = ServicePackage.objects.filter(merchant=merchant).prefetch_related("lines", "stores")
    items = [{"package": p, "price": _yuan(p.price)} for p in rows.order_by("-is_active", "name")]
    return render(request, "loyalty/packages/definitions.html", {"items": items})


def _initial(package) -> dict:
    lines = "\n".join(
        f"{line.service} × {line.uses}" if line.uses else line.service for line in package.lines.all()
    )
    return {
        "name": package.name,
        "kind": package.kind,
        "price": _yuan(package.price),
        "lines": lines,
        "validity_days": package.validity_days,
        "daily_cap": package.daily_cap,
        "stores": list(package.stores.all()),
    }


@login_required
@require_http_methods(["GET", "POST"])
def definition_form(request, pk=None):
    """Create (no pk) or edit a package definition; sold packages keep the terms they were sold with."""
    merchant = _merchant(request)
    package = None
    if pk is not None:
        package = ServicePackage.objects.filter(pk=pk, merchant=merchant).first()
        if package is None:
            raise Http404(_("No such package."))
    stores = _store_choices(merchant)
    if request.method == "GET":
        form = PackageDefinitionForm(initial=_initial(package) if package else {}, stores_queryset=stores)
        return render(request, "loyalty/packages/definition_form.html", {"form": form, "package": package})
    form = PackageDefinitionForm(request.POST, stores_queryset=stores)
    if form.is_valid():
        data = form.cleaned_data
        fields = {
            "name": data["name"],
            "kind": data["kind"],
            "price": data["price"],
            "validity_days": data["validity_days"],
            "daily_cap": data["daily_cap"],
        }
        try:
            if package is None:
                packages.create_package(
                    request.user, merchant, lines=data["parsed_lines"], stores=data["stores"], **fields
                )
            else:
                packages.update_package(
                    request.user, package, lines=data["parsed_lines"], stores=data["stores"], **fields
                )
        except ValidationFailed as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, str(error))
        except BusinessError as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("Package %(name)s saved.") % {"name": fields["name"]})
            return redirect("loyalty:package_definitions")
    return render(
        request, "loyalty/packages/definition_form.html", {"form": form, "package": package}, status=400
    )


@login_required
@require_POST
def definition_deactivate(request, pk):
    """Take a package off sale; packages already sold keep working."""
    merchant = _merchant(request)
    package = ServicePackage.objects.filter(pk=pk, merchant=merchant).first()
    if package is None:
        raise Http404(_("No such package."))
    try:
        packages.deactivate_package(request.user, package)
    except BusinessError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Package %(name)s is off sale.") % {"name": package.name})
    return redirect("loyalty:package_definitions")
