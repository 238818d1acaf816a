"""Pages of promotions under /promotions/: the list with filters, a form per kind, deactivation.

Thin: parse, check the permission, call rules, render. Listing needs promotions.view; creating,
changing and deactivating need promotions.manage and an owner node in the staff's scope (a region
manager for its region, HQ for every store). Staff below a promotion's owner see it in the list
(it applies to their stores) but cannot change it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onecard.core.errors import BusinessError
from onecard.core.permissions import require_perms
from onecard.core.scoping import node_in_scope, scope_node_ids
from onecard.loyalty.models import Tier
from onecard.org.choices import NodeKind
from onecard.org.forms import apply_service_errors
from onecard.org.models import OrgNode
from onecard.org.queries import merchant_for_request

from . import rules
from .models import Promotion, PromotionKind
from .promotion_forms import PromotionForm, default_dates, initial_for, owner_nodes

VIEW, MANAGE = "promotions.view", "promotions.manage"


def visible_promotions(user, merchant):
    """The merchant's promotions the user may see: owned in their scope, or owned above them (applying to them)."""
    rows = Promotion.objects.filter(merchant=merchant).select_related("node")
    ids = scope_node_ids(user)
    if ids is None:
        return rows
    above = [int(part) for part in user.node.path.strip("/").split("/") if part] if user.node_id else []
    return rows.filter(Q(node_id__in=ids) | Q(node_id__in=above))


def _stores(user, merchant):
    stores = OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE).order_by("path")
    ids = scope_node_ids(user)
    return stores if ids is None else stores.filter(id__in=ids)


def _tiers(merchant):
    return Tier.objects.filter(merchant=merchant).order_by("rank", "pk")


def _form(request, merchant, kind, *, initial=None, data=None):
    owners = owner_nodes(merchant, scope_node_ids(request.user))
    return PromotionForm(
        data,
        kind=kind,
        owners=owners,
        stores=_stores(request.user, merchant),
        tiers=_tiers(merchant),
        initial=initial,
    )


@login_required
def promotion_list(request):
    """The promotions with filters: ?active=yes|no|now, ?kind=, ?store=ID (the ones that apply there)."""
    require_perms(request.user, VIEW)
    merchant = merchant_for_request(request)
    rows = visible_promotions(request.user, merchant)
    active = request.GET.get("active", "")
    if active in ("yes", "now"):
        rows = rows.filter(active=True)
    elif active == "no":
        rows = rows.filter(active=False)
    if active == "now":
        now = timezone.now()
        rows = rows.filter(valid_from__lte=now, valid_to__gt=now)
    kind = request.GET.get("kind", "")
    if kind in PromotionKind.values:
        rows = rows.filter(kind=kind)
    stores = _stores(request.user, merchant)
    store_id = request.GET.get("store", "")
    store = stores.filter(pk=store_id).first() if store_id.isdigit() else None
    rows = list(rows.order_by("-active", "-priority", "pk"))
    if store is not None:
        above = [int(part) for part in store.path.strip("/").split("/") if part]
        rows = [r for r in rows if r.node_id in above and (not r.store_ids or store.pk in r.store_ids)]
    for row in rows:
        row.can_manage = request.user.has_perm(MANAGE) and node_in_scope(request.user, row.node)
    context = {
        "merchant": merchant,
        "promotions": rows,
        "kinds": PromotionKind.choices,
        "stores": stores,
        "filters": {"active": active, "kind": kind, "store": store.pk if store else ""},
        "can_manage": request.user.has_perm(MANAGE),
    }
    return render(request, "promotions/promotions/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def promotion_create(request):
    """GET without ?kind=: choose a kind; with it, that kind's form; POST: create."""
    require_perms(request.user, MANAGE)
    merchant = merchant_for_request(request)
    kind = request.GET.get("kind") or request.POST.get("kind")
    if kind not in PromotionKind.values:
        return render(request, "promotions/promotions/choose_kind.html", {"kinds": PromotionKind.choices})
    form = _form(request, merchant, kind, initial=default_dates(), data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            promotion = rules.create_promotion(
                request.user, merchant, form.cleaned_data["node"], form.to_data()
            )
        except BusinessError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Promotion %(name)s was created.") % {"name": promotion.name})
            return redirect(reverse("promotions:list"))
    context = {"form": form, "kind": kind, "kind_label": PromotionKind(kind).label, "promotion": None}
    return render(request, "promotions/promotions/form.html", context, status=400 if form.errors else 200)


def _managed(request, pk):
    merchant = merchant_for_request(request)
    promotion = visible_promotions(request.user, merchant).filter(pk=pk).first()
    if promotion is None:
        raise Http404
    if not node_in_scope(request.user, promotion.node):
        raise Forbidden(MANAGE)
    return merchant, promotion


@login_required
@require_http_methods(["GET", "POST"])
def promotion_edit(request, pk):
    """Change a promotion of the staff's scope (its kind stays)."""
    require_perms(request.user, MANAGE)
    merchant, promotion = _managed(request, pk)
    form = _form(request, merchant, promotion.kind, initial=initial_for(promotion), data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rules.update_promotion(request.user, promotion, form.to_data(), node=form.cleaned_data["node"])
        except BusinessError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, _("Promotion %(name)s was saved.") % {"name": form.cleaned_data["name"]}
            )
            return redirect(reverse("promotions:list"))
    context = {
        "form": form,
        "kind": promotion.kind,
        "kind_label": promotion.get_kind_display(),
        "promotion": promotion,
    }
    return render(request, "promotions/promotions/form.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def promotion_deactivate(request, pk):
    """Stop a promotion now."""
    require_perms(request.user, MANAGE)
    _merchant_row, promotion = _managed(request, pk)
    rules.deactivate_promotion(request.user, promotion)
    messages.success(request, _("Promotion %(name)s was stopped.") % {"name": promotion.name})
    return redirect(reverse("promotions:list"))
