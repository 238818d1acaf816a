"""Merging two records of one person: the survivor keeps both histories, the other is marked merged."""

from django.db import transaction
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import BusinessError, PermissionDenied
from onecard.core.scoping import node_in_scope

from .choices import MemberStatus
from .models import ConsentRecord, Contact, Member, MemberMerge, OwnerChange
from .services import AUDITED_FIELDS, derive_search_keys
from .signals import member_merged

_FILL_FIELDS = ("gender", "birthday", "address", "id_number", "email", "owner_id", "referrer_id")


@transaction.atomic
def merge_members(actor, survivor, merged):
    """Combine two records of one person: the survivor keeps both histories, the other is marked merged."""
    if survivor.pk == merged.pk:
        raise BusinessError(_("Choose two different members."), code="merge_same_member")
    first, second = sorted([survivor.pk, merged.pk])
    locked = {m.pk: m for m in Member.objects.select_for_update().filter(pk__in=[first, second])}
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    if survivor.merchant_id != merged.merchant_id:
        raise BusinessError(
            _("Members of different merchants cannot be merged."), code="merge_other_merchant"
        )
    if MemberStatus.MERGED in (survivor.status, merged.status):
        raise BusinessError(_("One of these members was merged already."), code="member_merged")
    if actor is not None and not (
        node_in_scope(actor, survivor.home_store) and node_in_scope(actor, merged.home_store)
    ):
        raise PermissionDenied()
    snapshot = {
        **audit.snapshot(merged),
        "tags": [t.name for t in merged.tags.all()],
        "contacts": [audit.snapshot(c) for c in merged.contacts.all()],
    }
    before_survivor = audit.snapshot(survivor, AUDITED_FIELDS)
    for field in _FILL_FIELDS:
        if not getattr(survivor, field) and getattr(merged, field):
            setattr(survivor, field, getattr(merged, field))
    survivor.custom_fields = {**merged.custom_fields, **survivor.custom_fields}
    if survivor.notes and merged.notes:
        survivor.notes = f"{survivor.notes}\n{merged.notes}"
    elif merged.notes:
        survivor.notes = merged.notes
    if not survivor.marketing_consent and merged.marketing_consent:
        survivor.marketing_consent, survivor.consent_at, survivor.consent_source = (
            True,
            merged.consent_at,
            merged.consent_source,
        )
    if not survivor.phone and merged.phone:
        phone = merged.phone
        Member.objects.filter(pk=merged.pk).update(phone=None)
        merged.phone = None
        survivor.phone = phone
    derive_search_keys(survivor)
    survivor.save()
    survivor.tags.add(*merged.tags.all())
    Contact.objects.filter(member=merged).update(member=survivor)
    ConsentRecord.objects.filter(member=merged).update(member=survivor)
    OwnerChange.objects.filter(member=merged).update(member=survivor)
    Member.objects.filter(referrer=merged).update(referrer=survivor)
    merged.status = MemberStatus.MERGED
    merged.merged_into = survivor
    merged.save(update_fields=["status", "merged_into", "updated_at"])
    record = MemberMerge.objects.create(
        survivor=survivor,
        merged=merged,
        snapshot=audit._plain(snapshot),
        actor=actor if actor is not None and actor.pk else None,
    )
    member_merged.send(sender=Member, survivor=survivor, merged=merged, actor=actor)
    b, a = audit.diff(before_survivor, audit.snapshot(survivor, AUDITED_FIELDS))
    audit.record(
        actor,
        "merge",
        survivor,
        before=b,
        after={**a, "merged_member": merged.member_no},
        note=_("merged %(no)s into %(into)s") % {"no": merged.member_no, "into": survivor.member_no},
    )
    return record
