"""Reads of the organisation used by every app: which merchants and nodes a user may see and act for."""

from django.http import Http404
from django.utils.translation import gettext as _

from onecard.core.errors import ValidationFailed
from onecard.core.ids import parse_id
from onecard.core.scoping import scope_node_ids

from .choices import NodeKind
from .models import Merchant, OrgNode


def merchant_ids_for(user):
    """The merchants whose data the user may see (every one for a system administrator)."""
    if user.sees_everything:
        return list(Merchant.objects.values_list("id", flat=True))
    return [user.node.merchant_id] if user.node_id else []


def scoped_nodes(user):
    """The org nodes the user may see, in tree order."""
    ids = scope_node_ids(user)
    qs = OrgNode.objects.select_related("merchant").order_by("merchant_id", "path")
    return qs if ids is None else qs.filter(id__in=ids)


def real_merchants():
    """Merchants that `onecard seed-demo` did not build: real data."""
    return Merchant.objects.filter(is_demo=False).order_by("pk")


def is_demo_install():
    """True when the database holds the demo merchant and nothing else: only there are demo logins shown."""
    return Merchant.objects.filter(is_demo=True).exists() and not real_merchants().exists()


def merchant_root(merchant):
    """The head-office node of a merchant (the root of its org tree)."""
    return merchant.nodes.get(parent__isnull=True)


def merchant_for_request(request):
    """The staff's merchant; a system administrator picks one with ?merchant=ID (the first by default)."""
    user = request.user
    if not user.sees_everything:
        if user.merchant is None:
            raise Http404
        return user.merchant
    pk = request.GET.get("merchant") or request.POST.get("merchant")
    merchants = Merchant.objects.order_by("pk")
    merchant = merchants.filter(pk=parse_id(pk)).first() if pk else merchants.first()
    if merchant is None:
        raise Http404
    return merchant


def acting_merchant(user, merchant_id=None):
    """The merchant a write belongs to: the user's own; a superuser without a node names one (`merchant`)."""
    if user.node_id:
        return user.node.merchant
    if user.sees_everything and merchant_id not in (None, ""):
        # A malformed id is None, which no merchant has.
        merchant = Merchant.objects.filter(pk=parse_id(merchant_id)).first()
        if merchant is not None:
            return merchant
    raise ValidationFailed({"merchant": [_("Choose a merchant.")]})


def merchant_stores(merchant):
    """The merchant's active stores in tree order (merchant-wide records may name any of them)."""
    return OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE, is_active=True).order_by("path")


def stores_in_scope(user, merchant):
    """The merchant's active stores that lie in the user's scope, in tree order."""
    stores = merchant_stores(merchant)
    ids = scope_node_ids(user)
    return stores if ids is None else stores.filter(id__in=ids)
