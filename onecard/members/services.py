"""Every write to members: create, change, consent, contacts, transfer, reveal (tags and custom fields: tags.py;
merge: merging.py)."""

from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.chinese import pinyin_keys
from onecard.core.errors import BusinessError, Conflict, PermissionDenied, ValidationFailed
from onecard.core.masking import mask_phone
from onecard.core.scoping import node_in_scope
from onecard.core.validators import InvalidValue, normalize_phone
from onecard.org.models import OrgNode, Staff

from . import bulk, privacy
from .choices import AccessKind, MemberStatus, Source
from .models import (
    ConsentRecord,
    Contact,
    CustomField,
    Member,
    MemberNumberSequence,
    OwnerChange,
    Tag,
)
from .signals import member_joined
from .validation import MEMBER_FIELDS, clean_member_input

# What a member change is audited on: the fields a caller sets plus those only services change.
AUDITED_FIELDS = (*MEMBER_FIELDS, "marketing_consent", "status")


def allocate_member_numbers(merchant, count=1):
    """`count` fresh member numbers of the merchant, taken under a row lock so no two callers share one."""
    with transaction.atomic():
        MemberNumberSequence.objects.get_or_create(merchant=merchant)
        seq = MemberNumberSequence.objects.select_for_update().get(merchant=merchant)
        first = seq.next_value
        MemberNumberSequence.objects.filter(pk=seq.pk).update(next_value=F("next_value") + count)
    return [format_member_no(n) for n in range(first, first + count)]


def format_member_no(n: int) -> str:
    """Member numbers are 8 digits from 10000001 up, printable as a barcode."""
    return str(10_000_000 + n)


def phone_conflict(merchant, phone, exclude_pk=None):
    """The member that already has `phone` in this merchant, if any (merged records point to the survivor)."""
    if not phone:
        return None
    qs = Member.objects.filter(merchant=merchant, phone=phone)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    existing = qs.first()
    while existing is not None and existing.merged_into_id:
        existing = existing.merged_into
    return existing


def duplicate_phone_error(existing):
    """409 duplicate_phone, naming (and linking) the member who has the number."""
    return Conflict(
        _("This phone number already belongs to member %(no)s (%(name)s).")
        % {"no": existing.member_no, "name": existing.name},
        code="duplicate_phone",
        extra={
            "existing_member": {
                "id": str(existing.pk),
                "member_no": existing.member_no,
                "url": reverse("members:detail", args=[existing.pk]),
            }
        },
    )


def _row(value, queryset):
    """`value` when it is already a row of the queryset's model, else the queryset's row with that pk (or None)."""
    return value if isinstance(value, queryset.model) else queryset.filter(pk=value).first()


def _resolve_relations(actor, merchant, data, errors, cleaned):
    """Turn home_store / owner / referrer / tags given as objects or ids into checked objects."""
    if "home_store" in data:
        node = data["home_store"]
        if node is not None:
            node = _row(node, OrgNode.objects.filter(merchant=merchant))
        if node is None or node.merchant_id != merchant.pk:
            errors["home_store"] = _("Choose a store of this merchant.")
        elif actor is not None and not node_in_scope(actor, node):
            errors["home_store"] = _("You can only register members in your own stores.")
        else:
            cleaned["home_store"] = node
    if "owner" in data:
        owner = data["owner"]
        if owner not in (None, ""):
            owner = _row(owner, Staff.objects.select_related("node"))
        if owner in (None, ""):
            cleaned["owner"] = None
        elif owner.node_id is None or owner.node.merchant_id != merchant.pk or not owner.is_active:
            errors["owner"] = _("The owner must be active staff of this merchant.")
        else:
            cleaned["owner"] = owner
    if "referrer" in data:
        referrer = data["referrer"]
        if referrer not in (None, ""):
            referrer = _row(referrer, Member.objects.filter(merchant=merchant))
            if referrer is None:
                errors["referrer"] = _("The referring member was not found.")
        cleaned["referrer"] = referrer or None
    if "tags" in data:
        tags = []
        for tag in data["tags"] or []:
            tag = _row(tag, Tag.objects.filter(merchant=merchant))
            if tag is None or tag.merchant_id != merchant.pk:
                errors["tags"] = _("Unknown tag.")
                break
            tags.append(tag)
        cleaned["tags"] = tags


def _definitions(merchant):
    return list(CustomField.objects.filter(merchant=merchant))


def derive_search_keys(member):
    """Fill the member's stored search keys (pinyin initials and full pinyin, last four of the phone)."""
    member.name_initials, member.name_pinyin = pinyin_keys(member.name)
    member.phone_last4 = (member.phone or "")[-4:] if member.phone and member.phone[-4:].isdigit() else ""


@transaction.atomic
def create_member(actor, merchant, data, *, consent_source=""):
    """Register a member; a phone that already has a member is refused with a link to that member."""
    data = dict(data)
    cleaned, errors = clean_member_input(data, definitions=_definitions(merchant))
    data.setdefault("home_store", actor.node if actor is not None and actor.node_id else None)
    _resolve_relations(actor, merchant, data, errors, cleaned)
    if errors:
        raise ValidationFailed(errors)
    existing = phone_conflict(merchant, cleaned.get("phone"))
    if existing is not None:
        raise duplicate_phone_error(existing)
    tags = cleaned.pop("tags", [])
    member = Member(
        merchant=merchant, created_by=actor if actor is not None and actor.pk else None, **cleaned
    )
    member.member_no = allocate_member_numbers(merchant)[0]
    derive_search_keys(member)
    consent = bool(data.get("marketing_consent"))
    if consent:
        member.marketing_consent = True
        member.consent_at = timezone.now()
        member.consent_source = consent_source or _source_label(member.source)
    member.save()
    if tags:
        member.tags.set(tags)
    if consent:
        _record_consent(actor, member)
    audit.record(
        actor,
        "create",
        member,
        after={**audit.snapshot(member, AUDITED_FIELDS), "tags": [t.name for t in tags]},
    )
    member_joined.send(sender=Member, member=member, actor=actor)
    return member


def _source_label(source):
    return str(Source(source).label) if source in Source.values else source


@transaction.atomic
def update_member(actor, member, data):
    """Change some fields of a member; only what changed is audited."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.status != MemberStatus.ACTIVE:
        raise BusinessError(
            _("This member was merged into another; change the surviving record."), code="member_merged"
        )
    if actor is not None and not node_in_scope(actor, member.home_store):
        raise PermissionDenied()
    data = dict(data)
    if "phone" in data and "kind" not in data:
        data["kind"] = member.kind
    cleaned, errors = clean_member_input(data, definitions=_definitions(member.merchant), partial=True)
    _resolve_relations(actor, member.merchant, data, errors, cleaned)
    if errors:
        raise ValidationFailed(errors)
    if "phone" in cleaned:
        existing = phone_conflict(member.merchant, cleaned["phone"], exclude_pk=member.pk)
        if existing is not None and existing.pk != member.pk:
            raise duplicate_phone_error(existing)
    before = {**audit.snapshot(member, AUDITED_FIELDS), "tags": sorted(t.name for t in member.tags.all())}
    tags = cleaned.pop("tags", None)
    if "custom_fields" in cleaned:
        cleaned["custom_fields"] = {**member.custom_fields, **cleaned["custom_fields"]}
    for key, value in cleaned.items():
        setattr(member, key, value)
    derive_search_keys(member)
    member.save()
    if tags is not None:
        member.tags.set(tags)
    after = {**audit.snapshot(member, AUDITED_FIELDS), "tags": sorted(t.name for t in member.tags.all())}
    b, a = audit.diff(before, after)
    if a:
        audit.record(actor, "update", member, before=b, after=a)
    if "marketing_consent" in data and bool(data["marketing_consent"]) != member.marketing_consent:
        set_consent(
            actor, member, bool(data["marketing_consent"]), source=data.get("consent_source") or "staff"
        )
    return member


@transaction.atomic
def set_consent(actor, member, granted, *, source):
    """Record a grant or withdrawal of marketing consent with its time and source (M8)."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.marketing_consent == granted:
        return member
    before = {"marketing_consent": member.marketing_consent}
    member.marketing_consent = granted
    member.consent_at = timezone.now()
    member.consent_source = (source or "")[:40]
    member.save(update_fields=["marketing_consent", "consent_at", "consent_source", "updated_at"])
    _record_consent(actor, member)
    audit.record(
        actor,
        "update",
        member,
        before=before,
        after={"marketing_consent": granted, "consent_source": member.consent_source},
    )
    return member


def _record_consent(actor, member):
    """Add the member's current consent (granted or withdrawn, and its source) to its consent history."""
    ConsentRecord.objects.create(
        member=member,
        granted=member.marketing_consent,
        source=member.consent_source,
        actor=actor if actor is not None and actor.pk else None,
    )


def insert_members(actor, merchant, rows, *, import_job=None, batch_size=2000, progress=None):
    """Insert many members that were already validated (import, demo data) in few statements.

    Each row holds cleaned member fields plus optional `tag_ids`. Numbers come from one block, pinyin
    and last-4 digits are derived here as in `create_member`; the caller writes one audit row for the batch.
    Returns the created members. The rows go in through `members.bulk` (executemany on SQLite, COPY on
    PostgreSQL), all in one transaction.
    """
    rows = list(rows)
    if not rows:
        return []
    created = []
    with transaction.atomic():
        numbers = allocate_member_numbers(merchant, len(rows))
        now = timezone.now()
        actor_or_none = actor if actor is not None and actor.pk else None
        actor_id = actor_or_none.pk if actor_or_none is not None else None
        Through = Member.tags.through
        labels = {}  # source → its label, for consent rows
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            members = bulk.new_instances(
                Member,
                [{k: v for k, v in row.items() if k not in {"tag_ids", "consent_source"}} for row in chunk],
                merchant=merchant,
                created_by=actor_or_none,
                import_job=import_job,
            )
            for number, row, member in zip(numbers[start : start + batch_size], chunk, members, strict=True):
                member.member_no = number
                if member.marketing_consent:
                    member.consent_at = member.consent_at or now
                    if (
                        not (row.get("consent_source") or member.consent_source)
                        and member.source not in labels
                    ):
                        labels[member.source] = _source_label(member.source)
                    member.consent_source = (
                        row.get("consent_source") or member.consent_source or labels[member.source]
                    )
                member.name_initials, member.name_pinyin = bulk.fast_pinyin_keys(member.name)
                phone = member.phone or ""
                member.phone_last4 = phone[-4:] if phone and phone[-4:].isdigit() else ""
            bulk.insert_objects(members)
            bulk.insert_values(
                Through,
                ["member_id", "tag_id"],
                [(m.pk, t) for m, row in zip(members, chunk, strict=True) for t in row.get("tag_ids", ())],
            )
            bulk.insert_values(
                ConsentRecord,
                ["member_id", "granted", "at", "source", "actor_id"],
                [(m.pk, True, now, m.consent_source, actor_id) for m in members if m.marketing_consent],
            )
            created.extend(members)
            if progress is not None:
                progress(len(created), len(rows))
    return created


# ---- contacts -------------------------------------------------------------------------------------------


def _clean_contact(data):
    errors, cleaned = {}, {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = _("Name is required.")
    cleaned["name"] = name[:60]
    phone = str(data.get("phone") or "").strip()
    if phone:
        try:
            phone = normalize_phone(phone)
        except InvalidValue as exc:
            errors["phone"] = str(exc)
    cleaned["phone"] = phone
    for key, limit in (("title", 60), ("email", 254), ("notes", 200)):
        cleaned[key] = str(data.get(key) or "").strip()[:limit]
    if cleaned["email"]:
        try:
            validate_email(cleaned["email"])
        except Exception:
            errors["email"] = _("The e-mail address is not valid.")
    cleaned["is_primary"] = bool(data.get("is_primary"))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def add_contact(actor, member, data):
    """A contact person for a (usually company) member."""
    if actor is not None and not node_in_scope(actor, member.home_store):
        raise PermissionDenied()
    cleaned = _clean_contact(data)
    if cleaned["is_primary"]:
        member.contacts.update(is_primary=False)
    contact = Contact.objects.create(member=member, **cleaned)
    audit.record(actor, "create", contact, after=audit.snapshot(contact))
    return contact


@transaction.atomic
def update_contact(actor, contact, data):
    """Change a contact person."""
    if actor is not None and not node_in_scope(actor, contact.member.home_store):
        raise PermissionDenied()
    cleaned = _clean_contact({**audit.snapshot(contact), **data})
    before = audit.snapshot(contact)
    if cleaned["is_primary"]:
        contact.member.contacts.exclude(pk=contact.pk).update(is_primary=False)
    for key, value in cleaned.items():
        setattr(contact, key, value)
    contact.save()
    b, a = audit.diff(before, audit.snapshot(contact))
    if a:
        audit.record(actor, "update", contact, before=b, after=a)
    return contact


@transaction.atomic
def delete_contact(actor, contact):
    """Remove a contact person."""
    if actor is not None and not node_in_scope(actor, contact.member.home_store):
        raise PermissionDenied()
    audit.record(actor, "delete", contact, before=audit.snapshot(contact))
    contact.delete()


# ---- owners ----------------------------------------------------------------------------------------------


@transaction.atomic
def transfer_members(actor, members, to_owner, *, reason=""):
    """Hand members to another owner (负责人), one or many at once; returns how many moved."""
    members = list(members)
    if not members:
        return 0
    merchant_ids = {m.merchant_id for m in members}
    if to_owner is not None and (
        not to_owner.is_active or to_owner.node_id is None or {to_owner.node.merchant_id} != merchant_ids
    ):
        raise ValidationFailed({"to_owner": [_("The new owner must be active staff of the same merchant.")]})
    if actor is not None and any(not node_in_scope(actor, m.home_store) for m in members):
        raise PermissionDenied()
    moved = [m for m in members if m.owner_id != (to_owner.pk if to_owner else None)]
    if not moved:
        return 0
    actor_or_none = actor if actor is not None and actor.pk else None
    OwnerChange.objects.bulk_create(
        [
            OwnerChange(
                member=m,
                from_owner_id=m.owner_id,
                to_owner=to_owner,
                reason=reason[:200],
                actor=actor_or_none,
            )
            for m in moved
        ],
        batch_size=1000,
    )
    ids = [m.pk for m in moved]
    for start in range(0, len(ids), 900):
        Member.objects.filter(pk__in=ids[start : start + 900]).update(
            owner=to_owner, updated_at=timezone.now()
        )
    from_owners = sorted({str(m.owner) if m.owner_id else "-" for m in moved})
    audit.record(
        actor,
        "transfer",
        subject_type="members.member",
        subject_id=str(ids[0]) if len(ids) == 1 else "",
        subject_repr=str(moved[0]) if len(moved) == 1 else _("%(n)s members") % {"n": len(moved)},
        node=moved[0].home_store if len(moved) == 1 else (actor.node if actor is not None else None),
        merchant=moved[0].merchant,
        before={"owners": from_owners},
        after={"owner": str(to_owner) if to_owner else None, "members": [m.member_no for m in moved][:500]},
        note=reason,
    )
    return len(moved)


def transfer_all_from(actor, from_owner, to_owner, *, reason=""):
    """Hand every member of a leaving staff member to a successor (离职继承)."""
    members = Member.objects.filter(owner=from_owner, status=MemberStatus.ACTIVE).select_related(
        "home_store", "owner", "merchant"
    )
    return transfer_members(
        actor, members, to_owner, reason=reason or _("hand-over from %(s)s") % {"s": from_owner}
    )


# ---- personal data ---------------------------------------------------------------------------------------

REVEALABLE = {"phone", "id_number"}


def reveal(actor, member, field, *, purpose):
    """The full phone or ID number, for a role that may see it and says why (PIPL); every reveal is audited."""
    if field not in REVEALABLE:
        raise ValidationFailed({"field": [_("Only phone and ID number can be revealed.")]})
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > 100:
        raise ValidationFailed({"purpose": [_("Say why you need the full number (at most 100 characters).")]})
    if not actor.has_perm("members.reveal_pii"):
        raise PermissionDenied(_("Your role may not see full phone or ID numbers."))
    if not node_in_scope(actor, member.home_store):
        raise PermissionDenied()
    value = getattr(member, field) or ""
    audit.record(
        actor, "reveal", member, after={"field": field, "purpose": purpose}, note=f"{field}: {purpose}"
    )
    privacy.record_access(actor, AccessKind.REVEAL, [member], purpose=purpose, fields=[field])
    return value


def display_phone(member_or_phone):
    phone = getattr(member_or_phone, "phone", member_or_phone)
    return mask_phone(phone)


# ---- exports ---------------------------------------------------------------------------------------------


def check_export_purpose(purpose) -> str:
    """The purpose of an export, stripped; refused when missing or longer than 100 characters (PIPL)."""
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > privacy.PURPOSE_MAX:
        raise ValidationFailed({"purpose": [_("Say why you export these members (at most 100 characters).")]})
    return purpose


def record_export(actor, member_ids, *, purpose, filters=""):
    """Record a member export (M7, PIPL): who took which members out, why, with which filters."""
    purpose = check_export_purpose(purpose)
    count = len(member_ids)
    privacy.record_access(actor, AccessKind.EXPORT, member_ids, purpose=purpose, fields=privacy.EXPORT_FIELDS)
    return audit.record(
        actor,
        "export",
        subject_type="members.member",
        subject_repr=_("%(n)s members") % {"n": count},
        node=actor.node if actor is not None and actor.node_id else None,
        merchant=actor.merchant if actor is not None and actor.node_id else None,
        after={"purpose": purpose, "rows": count},
        note=filters,
    )
