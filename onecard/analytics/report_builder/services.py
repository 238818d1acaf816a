"""Every write of saved reports: save (create or change), share with roles, pin, delete; owner only, audited.

A definition is checked against the catalogue (definition.validate) before anything is written, so a
report with an unknown field or a bad filter value is never stored.
"""

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from onecard.analytics.models import SavedReport
from onecard.analytics.report_builder.definition import validate
from onecard.analytics.report_builder.queries import is_owner
from onecard.core import audit
from onecard.core.errors import PermissionDenied, ValidationFailed
from onecard.org.models import Role

MAX_NAME = 100


def _require_builder(actor):
    if not actor.has_perm("reports.build"):
        raise PermissionDenied(_("Your role may not build reports."))


def _require_owner(actor, report):
    _require_builder(actor)
    if not is_owner(actor, report):
        raise PermissionDenied(_("Only the owner of a report may change, share, pin or delete it."))


def _clean_name(name) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed({"name": [_("Name the report (at most %(n)d characters).") % {"n": MAX_NAME}]})
    return name


@transaction.atomic
def save_report(actor, merchant, *, name, definition, report=None) -> SavedReport:
    """Store a checked definition under `name`: a new report of `actor`, or a change of their `report`."""
    _require_builder(actor)
    name = _clean_name(name)
    stored = validate(definition).as_json()
    if report is None:
        report = SavedReport.objects.create(merchant=merchant, owner=actor, name=name, definition=stored)
        audit.record(actor, "create", report, after={"name": name, "definition": stored})
        return report
    _require_owner(actor, report)
    before = {"name": report.name, "definition": report.definition}
    report.name, report.definition = name, stored
    report.save(update_fields=["name", "definition", "updated_at"])
    audit.record(actor, "update", report, before=before, after={"name": name, "definition": stored})
    return report


@transaction.atomic
def share_report(actor, report, roles) -> SavedReport:
    """Share the report with exactly `roles` (built-in ones or the merchant's own); an empty list stops sharing."""
    _require_owner(actor, report)
    allowed = Role.objects.filter(Q(merchant__isnull=True) | Q(merchant=report.merchant_id))
    roles = list(roles)
    if len(allowed.filter(pk__in=[r.pk for r in roles])) != len({r.pk for r in roles}):
        raise ValidationFailed({"roles": [_("Share only with roles of your merchant.")]})
    before = sorted(report.shared_with_roles.values_list("pk", flat=True))
    report.shared_with_roles.set(roles)
    after = sorted(r.pk for r in roles)
    audit.record(
        actor, "update", report, before={"shared_with_roles": before}, after={"shared_with_roles": after}
    )
    return report


@transaction.atomic
def pin_report(actor, report, pinned: bool) -> SavedReport:
    """Put the report on the home page (of its owner and of the roles it is shared with), or take it off."""
    _require_owner(actor, report)
    if report.pinned != pinned:
        report.pinned = pinned
        report.save(update_fields=["pinned", "updated_at"])
        audit.record(actor, "update", report, before={"pinned": not pinned}, after={"pinned": pinned})
    return report


@transaction.atomic
def delete_report(actor, report):
    """Delete the report (its definition is kept in the audit trail)."""
    _require_owner(actor, report)
    audit.record(actor, "delete", report, before={"name": report.name, "definition": report.definition})
    report.delete()


def record_export(actor, report_name, definition):
    """Audit an export of a report's rows (personal data may leave the system with it)."""
    audit.record(
        actor,
        "export",
        subject_type="analytics.savedreport",
        subject_repr=report_name or definition.dataset.key,
        after=definition.as_json(),
        node=actor.node if actor.node_id else None,
        merchant=actor.merchant,
    )
