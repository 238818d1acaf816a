"""Which saved reports a staff member may open: their own, and those shared with one of their roles.

Opening a shared report needs analytics.view; building and saving needs reports.build (the views say
so). A report always runs with the viewer's own scope, so sharing a report never shares rows.
"""

from django.db.models import Q

from onecard.analytics.models import SavedReport
from onecard.org.queries import merchant_ids_for


def _shared_condition(user) -> Q:
    if not user.has_perm("analytics.view"):
        return Q(pk__in=[])
    # A subquery, not a list read first: the home page asks this on every view.
    return Q(shared_with_roles__in=user.roles.all())


def _openable(user):
    qs = SavedReport.objects.filter(merchant_id__in=merchant_ids_for(user))
    return qs.filter(Q(owner=user) | _shared_condition(user)).distinct().select_related("owner", "merchant")


def visible_reports(user):
    """The saved reports the user may open, of the merchants they work for, by name."""
    return _openable(user).prefetch_related("shared_with_roles")


def find_report(user, pk):
    """One saved report the user may open, or None."""
    return visible_reports(user).filter(pk=pk).first()


def pinned_reports(user):
    """The reports on the user's home page: their own pinned ones and the pinned ones shared with their roles."""
    return _openable(user).filter(pinned=True)


def is_owner(user, report) -> bool:
    """True when the user owns the report (only the owner changes, shares, pins or deletes it)."""
    return report.owner_id == user.pk
