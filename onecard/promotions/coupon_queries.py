"""Reads the coupon pages and services share: which templates and coupons a staff member may see.

Templates are scoped by their owner node, and a store or region also sees the templates of the nodes
above it (head office's coupons are valid in its stores); coupons below head office are those of
members in scope, plus bearer coupons.
"""

from django.db.models import Q

from onecard.core.scoping import scope_node_ids
from onecard.members.models import Member

from .models import Coupon, CouponTemplate


def ancestor_ids(node) -> set[int]:
    return {int(part) for part in node.path.strip("/").split("/") if part} if node is not None else set()


def visible_templates(user):
    """Templates the user may see: those owned in their scope and those of the nodes above them (HQ's)."""
    ids = scope_node_ids(user)
    qs = CouponTemplate.objects.select_related("node", "merchant")
    if ids is None:
        return qs
    return qs.filter(Q(node_id__in=ids) | Q(node_id__in=ancestor_ids(user.node)))


def can_manage(user, template) -> bool:
    """True when the user's scope covers the template's owner node (HQ's templates are HQ's to change)."""
    ids = scope_node_ids(user)
    return ids is None or template.node_id in ids


def visible_coupons(user):
    """Coupons of visible templates; below HQ only those of members in scope (and bearer coupons)."""
    qs = Coupon.objects.filter(template__in=visible_templates(user)).select_related("template", "member")
    ids = scope_node_ids(user)
    if ids is None:
        return qs
    return qs.filter(Q(member__isnull=True) | Q(member__home_store_id__in=ids))


def find_member(merchant, text):
    """The active member with this phone or member number, or None."""
    text = (text or "").strip()
    if not text:
        return None
    return (
        Member.objects.select_related("home_store")
        .filter(Q(phone=text) | Q(member_no=text), merchant=merchant, status="active")
        .first()
    )
