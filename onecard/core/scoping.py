"""Data scope: a staff member sees their org node and everything below it (docs/architecture.md, Access).

Every queryset that a page, list, export or API call returns goes through `scope` with the field path
that leads from the model to the org node that owns the row.

Core sits below org, so it knows the organisation only through the user model (settings.AUTH_USER_MODEL,
org.Staff): a user has `node` (None for a system administrator), `sees_everything`, and the node answers
`subtree_ids()`.
"""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.utils.translation import gettext as _

from .errors import PermissionDenied


def scope_node_ids(user):
    """Ids of the org nodes the user may see, or None for "all of them" (a superuser with no node)."""
    if user is None or not user.is_authenticated:
        return []
    cache = getattr(user, "_scope_node_ids", "unset")
    if cache != "unset":
        return cache
    if user.sees_everything:
        ids = None
    elif user.node_id is None:
        ids = []
    else:
        ids = user.node.subtree_ids()
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


def scoped_staff(user):
    """Staff accounts bound to a node in the user's scope."""
    ids = scope_node_ids(user)
    qs = get_user_model().objects.filter(node__isnull=False)
    return qs if ids is None else qs.filter(node_id__in=ids)


def managed_merchant(user):
    """The merchant whose merchant-wide records (products, tiers, rules) the user manages.

    Staff manage their node's merchant; a system administrator without a node, the first merchant.
    """
    if user.node_id:
        return user.node.merchant
    if user.sees_everything:
        # The merchant model, reached through the user model: core does not import org.
        node_model = get_user_model()._meta.get_field("node").related_model
        merchant_model = node_model._meta.get_field("merchant").related_model
        merchant = merchant_model.objects.order_by("id").first()
        if merchant is not None:
            return merchant
    raise Http404(_("No merchant to manage."))
