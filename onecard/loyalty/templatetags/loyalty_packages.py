"""Data of the member 360 page's "Packages" section (package_views.MEMBER_SECTION)."""

from django import template

from onecard.core.money import fen_to_yuan_str
from onecard.loyalty.models import PackageUse
from onecard.loyalty.packages.services import member_packages

register = template.Library()

PACKAGES_SHOWN = 50
USES_SHOWN = 30


def _yuan(fen):
    return fen_to_yuan_str(fen or 0)


@register.simple_tag
def member_package_rows(member):
    """The member's packages, newest first, each with its lines and its last uses (time, store, value)."""
    rows = list(member_packages(member)[:PACKAGES_SHOWN])
    uses = {}
    for use in (
        PackageUse.objects.filter(member_package__in=rows)
        .select_related("store")
        .order_by("-created_at", "-id")
    ):
        bucket = uses.setdefault(use.member_package_id, [])
        if len(bucket) < USES_SHOWN:
            bucket.append({"use": use, "value": _yuan(use.value)})
    return [
        {
            "mp": mp,
            "lines": list(mp.lines.all()),
            "price": _yuan(mp.price),
            "recognised": _yuan(mp.recognised),
            "refunded": _yuan(mp.refunded),
            "breakage": _yuan(mp.breakage),
            "uses": uses.get(mp.pk, []),
        }
        for mp in rows
    ]
