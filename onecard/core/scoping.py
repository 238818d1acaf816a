"""Data scope: a staff member sees their org node and everything below it (ARCHITECTURE.md, Access).

Every queryset that a page, list, export or API call returns goes through `scope` with the field path
that leads from the model to the org node that owns the row.
"""

from django.utils.translation import gettext as _

from .errors import PermissionDenied


def scope_node_ids(user):
    """Ids of the org nodes the user may see, or None for "all of them" (a superuser with no node)."""
    if user is None or not user.is_authenticated:
        return []
    cache = getattr(user, "_scope_node_ids", "unset")
    if cache != "unset":
        return cache
    from onecard.org.models import OrgNode

    if user.sees_everything:
        ids = None
    elif user.node_id is None:
        ids = []
    else:
        node = user.node
        ids = list(OrgNode.objects.filter(path__startswith=node.path).values_list("id", flat=True))
    user._scope_node_ids = ids
    return ids


def scope(queryset, user, node_field):
    """Only the rows of `queryset` whose `node_field` (e.g. "home_store") lies in the user's scope."""
    ids = scope_node_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{node_field}__in": ids})


def node_in_scope(user, node):
    """True when `node` lies in the user's scope."""
    ids = scope_node_ids(user)
    return ids is None or (node is not None and node.pk in ids)


def require_node_in_scope(user, node):
    if not node_in_scope(user, node):
        raise PermissionDenied(_("This record belongs to a part of the organisation you cannot see."))


def merchant_for_request(request):
    """The staff's merchant; a system administrator picks one with ?merchant=ID (the first by default)."""
    from django.http import Http404

    from onecard.org.models import Merchant

    user = request.user
    if not user.sees_everything:
        if user.merchant is None:
            raise Http404
        return user.merchant
    pk = request.GET.get("merchant") or request.POST.get("merchant")
    merchants = Merchant.objects.order_by("pk")
    merchant = merchants.filter(pk=pk).first() if pk and str(pk).isdigit() else merchants.first()
    if merchant is None:
        raise Http404
    return merchant
