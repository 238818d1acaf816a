"""Members (会员): people and companies with contacts, tags, custom fields, owner, source and consent."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.constraints import unique_per_merchant
from onecard.core.fields import (
    emptied_fk,
    member_field,
    merchant_field,
    node_field,
    protected_fk,
    staff_field,
)

from .choices import (
    ACCESS_FIELD_LABELS,
    AccessChannel,
    AccessKind,
    FieldType,
    Gender,
    ImportStatus,
    MemberKind,
    MemberStatus,
    Source,
)


class Tag(models.Model):
    """A label a merchant puts on members (VIP, 敏感肌, 团购客户...)."""

    merchant = merchant_field(related_name="tags", on_delete=models.CASCADE)
    name = models.CharField(_("name"), max_length=30)
    color = models.CharField(_("colour"), max_length=7, default="#3b82f6")

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [unique_per_merchant("name", "members_tag_unique_name")]

    def __str__(self):
        return self.name


class CustomField(models.Model):
    """A member attribute a merchant defines for itself (shoe size, skin type...)."""

    merchant = merchant_field(related_name="custom_fields", on_delete=models.CASCADE)
    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=40)
    field_type = models.CharField(_("type"), max_length=10, choices=FieldType.choices, default=FieldType.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            unique_per_merchant("key", "members_customfield_unique_key"),
        ]

    def __str__(self):
        return self.label


class MemberNumberSequence(models.Model):
    """The next member number of a merchant; numbers are taken in blocks under a row lock."""

    merchant = models.OneToOneField("org.Merchant", on_delete=models.CASCADE, primary_key=True)
    next_value = models.BigIntegerField(default=1)

    def __str__(self):
        return f"{self.merchant_id}: {self.next_value}"


class Member(models.Model):
    """A member or customer (会员); a person, or a company with contacts."""

    audit_node_path = "home_store"

    merchant = merchant_field(_("merchant"), related_name="members")
    member_no = models.CharField(_("member no."), max_length=20)
    kind = models.CharField(_("type"), max_length=10, choices=MemberKind.choices, default=MemberKind.PERSON)
    name = models.CharField(_("name"), max_length=100)
    name_initials = models.CharField(max_length=40, editable=False, default="")
    name_pinyin = models.CharField(max_length=120, editable=False, default="")
    # Normalised (13812345678 or +E.164); null for a company that is reached through its contacts.
    phone = models.CharField(_("phone"), max_length=20, null=True, blank=True)
    phone_last4 = models.CharField(max_length=4, editable=False, default="")
    gender = models.CharField(_("gender"), max_length=6, choices=Gender.choices, blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="members")
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    home_store = node_field(_("home store"), related_name="members")
    owner = staff_field(_("owner"), related_name="owned_members")
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.STORE)
    source_detail = models.CharField(_("source detail"), max_length=100, blank=True)
    referrer = emptied_fk("self", _("referred by"), related_name="referrals")
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    consent_at = models.DateTimeField(_("consent changed at"), null=True, blank=True)
    consent_source = models.CharField(_("consent source"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MemberStatus.choices, default=MemberStatus.ACTIVE
    )
    merged_into = protected_fk("self", related_name="merged_from", optional=True)
    import_job = emptied_fk("ImportJob", related_name="members")
    created_by = staff_field()
    # A default rather than auto_now_add, so that imports and demo data can carry the real joining date.
    created_at = models.DateTimeField(_("joined"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            unique_per_merchant("member_no", "members_member_no_unique"),
            # One phone number is one person (M4, 撞单).
            unique_per_merchant("phone", "members_phone_unique"),
        ]
        indexes = [
            models.Index(fields=["merchant", "phone_last4"], name="members_phone_last4"),
            models.Index(
                fields=["merchant", "name_initials", "status", "home_store", "id"],
                name="members_initials_cover",
            ),
            models.Index(fields=["merchant", "name"], name="members_name"),
            models.Index(fields=["home_store", "id"], name="members_store_id"),
            models.Index(fields=["owner", "id"], name="members_owner_id"),
            models.Index(
                fields=["merchant", "name_pinyin", "status", "home_store", "id"], name="members_pinyin_cover"
            ),
            models.Index(fields=["merchant", "created_at"], name="members_joined"),
            # Covers the list's scope and common filters, so its capped count by store (with tag,
            # consent) reads only this index and the tag index, never the member rows (bench search);
            # `id` for PostgreSQL's index-only scans and the join to tags (SQLite has it as the rowid).
            models.Index(
                fields=["home_store", "marketing_consent", "status", "merchant", "id"],
                name="members_store_filters",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.member_no})"


class Contact(models.Model):
    """A person to talk to at a company member (联系人)."""

    audit_node_path = "member.home_store"

    member = member_field(related_name="contacts", on_delete=models.CASCADE)
    name = models.CharField(_("name"), max_length=60)
    title = models.CharField(_("title"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.CharField(_("notes"), max_length=200, blank=True)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self):
        return self.name


class MemberHistory(models.Model):
    """A past change to a member: when, and by which staff account; the newest first."""

    at = models.DateTimeField(auto_now_add=True)
    actor = staff_field()

    class Meta:
        abstract = True
        ordering = ["-at", "-id"]


class ConsentRecord(MemberHistory):
    """One grant or withdrawal of marketing consent: when, how and by whom (M8)."""

    member = member_field(related_name="consent_history", on_delete=models.CASCADE)
    granted = models.BooleanField()
    source = models.CharField(max_length=40)

    def __str__(self):
        return f"{self.member_id} {'+' if self.granted else '-'} {self.source}"


class OwnerChange(MemberHistory):
    """A member handed from one owner (负责人) to another, e.g. when staff leave (离职继承)."""

    member = member_field(related_name="owner_changes", on_delete=models.CASCADE)
    from_owner = staff_field()
    to_owner = staff_field()
    reason = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.member_id}: {self.from_owner_id} → {self.to_owner_id}"


class MemberMerge(MemberHistory):
    """Two records of one person combined; the merged one stays, marked, with a snapshot of itself."""

    survivor = member_field(related_name="merges_received")
    merged = member_field(related_name="merges_given")
    snapshot = models.JSONField()

    def __str__(self):
        return f"{self.merged_id} → {self.survivor_id}"


class ImportJob(models.Model):
    """An upload of members from .xlsx/.csv: mapped, checked row by row, then imported in one transaction."""

    audit_node_path = "node"

    merchant = merchant_field(related_name="import_jobs", on_delete=models.CASCADE)
    node = node_field(related_name="import_jobs")
    created_by = staff_field(blank=False)
    created_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=300, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.original_name


class PersonalDataAccess(models.Model):
    """One look at members' personal data (PIPL): who, when, how, why, which fields, through which channel.

    Written by members.privacy for every reveal, export, member list page and member page (web and API);
    never changed. The members seen are its `subjects`, one row each, so "who saw my data" is one query.
    """

    merchant = merchant_field()
    actor = staff_field(_("by"))
    kind = models.CharField(_("kind"), max_length=10, choices=AccessKind.choices)
    purpose = models.CharField(_("purpose"), max_length=100, blank=True)
    fields = models.JSONField(_("fields"), default=list)
    channel = models.CharField(
        _("channel"), max_length=10, choices=AccessChannel.choices, default=AccessChannel.WEB
    )
    subject_count = models.PositiveIntegerField(_("members"), default=0)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")

    def __str__(self):
        return f"{self.get_kind_display()} · {self.subject_count}"

    def field_labels(self) -> str:
        """The fields shown, named in the reader's language."""
        return "、".join(str(ACCESS_FIELD_LABELS.get(name, name)) for name in self.fields)


class PersonalDataAccessSubject(models.Model):
    """A member whose personal data one access showed."""

    access = models.ForeignKey(PersonalDataAccess, on_delete=models.CASCADE, related_name="subjects")
    member = member_field()

    class Meta:
        indexes = [models.Index(fields=["member", "access"], name="members_access_by_member")]
        verbose_name = _("member seen")
        verbose_name_plural = _("members seen")

    def __str__(self):
        return f"{self.access_id} → {self.member_id}"
