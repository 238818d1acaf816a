"""Pages of promotions under /promotions/: the list with filters, a form per kind, deactivation.

Thin: parse, check the permission, call rules, render. Listing needs promotions.view; creating,
changing and deactivating need promotions.manage and an owner node in the staff's scope (a region
manager for its region, HQ for every store). Staff below a promotion's owner see it in the list
(it applies to their stores) but cannot change it.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onecard.core.object_views import ObjectActionView, ObjectEditView
from onecard.core.permissions import require_perms
from onecard.core.scoping import node_in_scope, scope_node_ids
from onecard.loyalty.models import Tier
from onecard.org.choices import NodeKind
from onecard.org.forms import apply_service_errors
from onecard.org.models import OrgNode
from onecard.org.queries import merchant_for_request

from . import rules
from .models import Promotion, PromotionKind
from .promotion_errors import StacksWithOthers
from .promotion_forms import PromotionForm, default_dates, initial_for, owner_nodes
from .stacking import UNSAVED_ID, stacking_examples

VIEW, MANAGE = "promotions.view", "promotions.manage"


def visible_promotions(user, merchant):
    """The merchant's promotions the user may see: owned in their scope, or owned above them (applying to them)."""
    rows = Promotion.objects.filter(merchant=merchant).select_related("node")
    ids = scope_node_ids(user)
    if ids is None:
        return rows
    above = [int(part) for part in user.node.path.strip("/").split("/") if part] if user.node_id else []
    return rows.filter(Q(node_id__in=ids) | Q(node_id__in=above))


def promotion_state(promotion, now):
    """What the list shows: stopped, ended (past its end), scheduled (not started yet) or active."""
    if not promotion.active:
        return "stopped"
    if promotion.valid_to <= now:
        return "ended"
    if promotion.valid_from > now:
        return "scheduled"
    return "active"


def _stores(user, merchant):
    stores = OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE).order_by("path")
    ids = scope_node_ids(user)
    return stores if ids is None else stores.filter(id__in=ids)


def _tiers(merchant):
    return Tier.objects.filter(merchant=merchant).order_by("rank", "pk")


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
    now = timezone.now()
    for row in rows:
        row.can_manage = request.user.has_perm(MANAGE) and node_in_scope(request.user, row.node)
        row.state = promotion_state(row, now)
    context = {
        "merchant": merchant,
        "promotions": rows,
        "kinds": PromotionKind.choices,
        "stores": stores,
        "filters": {"active": active, "kind": kind, "store": store.pk if store else ""},
        "can_manage": request.user.has_perm(MANAGE),
    }
    return render(request, "promotions/promotions/list.html", context)


class ManagedPromotion:
    """A promotion page: the merchant picked for the request, a promotion visible to the user and in scope."""

    permissions = (MANAGE,)

    def get_merchant(self):
        return merchant_for_request(self.request)

    def get_queryset(self):
        return visible_promotions(self.user, self.merchant)

    def object_or_404(self, pk):
        promotion = super().object_or_404(pk)
        if not node_in_scope(self.user, promotion.node):
            raise Forbidden(MANAGE)
        return promotion


class PromotionEdit(ManagedPromotion, ObjectEditView):
    """Create a promotion (GET without ?kind=: choose a kind first) or change one of the staff's scope.

    A promotion's kind stays what it was created as. When it would stack with another promotion on the
    same items, the form comes back with an example basket priced with both and is saved only when the
    user confirms (the "save anyway" button posts `stacking_confirmed`).
    """

    form_class = PromotionForm
    template_name = "promotions/promotions/form.html"
    object_name = "promotion"
    success_url = "promotions:list"
    invalid_status = 400
    initial_on_post = True

    def setup_object(self):
        super().setup_object()
        requested = self.request.GET.get("kind") or self.request.POST.get("kind")
        self.kind = self.object.kind if self.object else requested

    def get(self, request, *args, **kwargs):
        return self.choose_kind() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self.choose_kind() or super().post(request, *args, **kwargs)

    def choose_kind(self):
        """The page that picks a kind, while none (or an unknown one) is given."""
        if self.kind in PromotionKind.values:
            return None
        return render(
            self.request, "promotions/promotions/choose_kind.html", {"kinds": PromotionKind.choices}
        )

    def get_form(self, data=None):
        # An empty POST gives an unbound form, shown again as it was.
        return super().get_form(data or None)

    def form_kwargs(self):
        owners = owner_nodes(self.merchant, scope_node_ids(self.user))
        return {
            "kind": self.kind,
            "owners": owners,
            "merchant": self.merchant,
            "stores": _stores(self.user, self.merchant),
            "tiers": _tiers(self.merchant),
        }

    def initial(self):
        return initial_for(self.object) if self.object else default_dates()

    def get_context_data(self):
        label = self.object.get_kind_display() if self.object else PromotionKind(self.kind).label
        stacking = getattr(self, "stacking", [])
        return {"kind": self.kind, "kind_label": label, "stacking": stacking, "unsaved_id": UNSAVED_ID}

    def save(self, form):
        node, data = form.cleaned_data["node"], form.to_data()
        if not form.cleaned_data.get("stacking_confirmed"):
            values = rules.checked_values(self.merchant, node, data, promotion=self.object)
            self.stacking = stacking_examples(self.merchant, node, values, promotion=self.object)
            if self.stacking:
                raise StacksWithOthers()
        if self.object is None:
            return rules.create_promotion(self.user, self.merchant, node, data)
        return rules.update_promotion(self.user, self.object, data, node=node)

    def refused(self, form, exc):
        if not isinstance(exc, StacksWithOthers):  # the warning with its example is shown above the form
            apply_service_errors(form, exc)

    def message(self, saved):
        if self.object is None:
            return _("Promotion %(name)s was created.") % {"name": saved.name}
        return _("Promotion %(name)s was saved.") % {"name": saved.name}


class PromotionDeactivate(ManagedPromotion, ObjectActionView):
    """Stop a promotion now."""

    success_url = "promotions:list"
    success_message = gettext_lazy("Promotion %(name)s was stopped.")

    def act(self, promotion):
        rules.deactivate_promotion(self.user, promotion)


# The URL confs name these views as functions: one view object per page.
promotion_create = promotion_edit = PromotionEdit.as_view()
promotion_deactivate = PromotionDeactivate.as_view()
