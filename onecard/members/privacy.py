"""The personal-data access trail (PIPL): every look at members' personal data, and "who saw my data".

Written for each reveal of a full phone or ID number (with its purpose), each export (with its purpose,
members.export), each page of a member list and each member page, on the web and through the API: who,
when, from which address, how, why, which fields and which members. Reads that show no personal data
(counts, reports) write nothing. `access_report(member)` is what a member is shown ("who saw my data");
the back office shows it at /members/<id>/access/ and the API at /api/v1/members/{id}/access-log/.
"""

from django.db import transaction

from onecard.core.context import current_context

from .choices import AccessKind
from .models import Member, PersonalDataAccess, PersonalDataAccessSubject

# What each way of looking shows (field names of Member; phone and ID number masked unless revealed).
LIST_FIELDS = ["name", "phone_masked", "home_store", "tags"]
# The person's own data, which both the member's page and the export show.
PERSONAL_FIELDS = ["name", "phone_masked", "id_number_masked", "gender", "birthday", "email"]
DETAIL_FIELDS = [*PERSONAL_FIELDS, "address", "custom_fields"]
EXPORT_FIELDS = [*PERSONAL_FIELDS, "home_store", "tags"]
PURPOSE_MAX = 100


def record_access(actor, kind, members, *, purpose="", fields=(), channel="web") -> PersonalDataAccess | None:
    """Record that `actor` saw `members` (Member rows or ids) by `kind`; one row per merchant touched.

    Returns the access of the first merchant (None when no member was seen).
    """
    members = list(members)
    if not members:
        return None
    # Rows carry their merchant; bare ids (an export's) are looked up in one query.
    merchants = {m.pk: m.merchant_id for m in members if isinstance(m, Member)}
    bare = [m for m in members if not isinstance(m, Member)]
    if bare:
        merchants.update(Member.objects.filter(pk__in=bare).values_list("pk", "merchant_id"))
    by_merchant: dict[int, list[int]] = {}
    for pk in dict.fromkeys(getattr(m, "pk", m) for m in members):
        if pk in merchants:
            by_merchant.setdefault(merchants[pk], []).append(pk)
    address = current_context().ip
    first = None
    with transaction.atomic():
        for merchant_id, member_ids in by_merchant.items():
            access = PersonalDataAccess.objects.create(
                merchant_id=merchant_id,
                actor=actor if actor is not None and actor.pk else None,
                kind=kind,
                purpose=(purpose or "").strip()[:PURPOSE_MAX],
                fields=list(fields),
                channel=channel,
                subject_count=len(member_ids),
                address=address,
            )
            PersonalDataAccessSubject.objects.bulk_create(
                [PersonalDataAccessSubject(access=access, member_id=pk) for pk in member_ids], batch_size=2000
            )
            first = first or access
    return first


def record_list(actor, members, *, channel="web"):
    """A page of a member list was shown."""
    return record_access(actor, AccessKind.LIST, members, fields=LIST_FIELDS, channel=channel)


def record_detail(actor, member, *, channel="web"):
    """A member's page (or API record) was shown."""
    return record_access(actor, AccessKind.DETAIL, [member], fields=DETAIL_FIELDS, channel=channel)


def access_report(member, *, limit=500):
    """The accesses that showed `member`'s personal data, newest first, with who did it (for "who saw my data")."""
    return list(
        PersonalDataAccess.objects.filter(subjects__member=member)
        .select_related("actor", "actor__node")
        .order_by("-created_at", "-id")[:limit]
    )
