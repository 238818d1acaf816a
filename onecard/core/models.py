"""The audit trail (O4): one immutable row per change of business data, rules or permissions.

Its write guards (AppendOnlyQuerySet, WriteGuardedModel) are shared with the ledger's journal and records.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.fields import merchant_field, node_field


class AuditAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Change")
    DELETE = "delete", _("Delete")
    REVEAL = "reveal", _("Reveal personal data")
    MERGE = "merge", _("Merge")
    TRANSFER = "transfer", _("Transfer")
    IMPORT = "import", _("Import")
    EXPORT = "export", _("Export")
    LOGIN = "login", _("Log in")
    PERMISSION = "permission", _("Permission change")
    LOGIN_FAILED = "login_failed", _("Failed log-in")
    LOGOUT = "logout", _("Log out")
    UNLOCK = "unlock", _("Log-in unlocked")
    SECOND_FACTOR = "second_factor", _("Two-step verification")
    SESSION_END = "session_end", _("Session ended")


class AuditWriteRefused(RuntimeError):
    """A change or delete of an audit record through the ORM (a programming error: the trail is append-only)."""


class AppendOnlyQuerySet(models.QuerySet):
    """Rows inserted, never updated or deleted in bulk: both raise `refusal(refusal_message)`."""

    refusal = RuntimeError
    refusal_message = "These rows are append-only"

    def update(self, **kwargs):
        raise self.refusal(self.refusal_message)

    def delete(self):
        raise self.refusal(self.refusal_message)


class AuditEntryQuerySet(AppendOnlyQuerySet):
    """Audit records are inserted, never updated or deleted in bulk; the chain catches what goes around this."""

    refusal = AuditWriteRefused
    refusal_message = "The audit log is append-only"


class WriteGuardedModel(models.Model):
    """A record its services insert, then change only in `mutable_fields` (none by default).

    Any other save of a stored row raises `refusal(change_refused)`, and deleting one raises
    `refusal(delete_refused)` (None: deletes are allowed). Only instance writes are guarded here;
    bulk writes are refused where the model's queryset says so (AppendOnlyQuerySet).
    """

    refusal = RuntimeError
    mutable_fields = frozenset()
    change_refused = ""
    delete_refused = None

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            fields = kwargs.get("update_fields")
            if not self.mutable_fields or fields is None or not self.mutable_fields.issuperset(fields):
                raise self.refusal(self.change_refused)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.delete_refused is not None:
            raise self.refusal(self.delete_refused)
        return super().delete(*args, **kwargs)


class AuditEntry(WriteGuardedModel):
    """Who did what to which record, with the values before and after; written only, never edited.

    Every field is covered by a hash chain (core.audit_chain): `field_hashes` is written with the
    row, and right after its transaction commits the row is sealed into the chain (`seq`,
    `prev_hash`, `hash`). `onecard audit verify` names any record and field changed since.
    """

    # Set by audit.record before the INSERT (not auto_now_add), so the hashed time is the stored one.
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True, editable=False)
    # The ids stay as recorded even if the staff account, store or merchant is deleted later: a
    # cascade that emptied them would edit the audit trail (and break its chain).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        null=True,
        blank=True,
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=60, db_index=True)
    subject_id = models.CharField(_("subject id"), max_length=40, blank=True, db_index=True)
    subject_repr = models.CharField(_("subject"), max_length=200, blank=True)
    # The org node whose data this is; scopes the audit log like every other list.
    node = node_field(on_delete=models.DO_NOTHING, optional=True, db_constraint=False)
    merchant = merchant_field(on_delete=models.DO_NOTHING, optional=True, db_constraint=False)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    # The hash chain (core.audit_chain). Database defaults: a process still running the code from
    # before the chain keeps writing rows during an upgrade; the sealer then chains them too.
    field_hashes = models.CharField(max_length=64, db_default="", blank=True, editable=False)
    seq = models.BigIntegerField(null=True, blank=True, editable=False)  # None until sealed
    prev_hash = models.CharField(max_length=64, db_default="", blank=True, editable=False)
    hash = models.CharField(max_length=64, db_default="", blank=True, editable=False)

    refusal = AuditWriteRefused
    # Sealing writes its four columns with plain SQL (audit_chain), never through save().
    change_refused = "Audit records are never changed"
    delete_refused = "Audit records are never deleted"

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        constraints = [models.UniqueConstraint(fields=["seq"], name="core_audit_seq_unique")]
        indexes = [
            # The sealer's lookup: only the few rows not sealed yet are in this index.
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="core_audit_unsealed"),
        ]

    def __str__(self):
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.subject_type}:{self.subject_id}"
        )


class AuditChainHead(models.Model):
    """The end of the audit log's hash chain (one row): the last sealed record's number and hash.

    Sealing locks this row, so records are chained one transaction at a time; a record deleted
    from the end of the chain shows as a head that points past the last record.
    """

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")

    def __str__(self):
        return f"audit chain at seq {self.seq}"


class IdempotencyKey(models.Model):
    """The first result of a money-moving request, stored under its idempotency key (onecard.core.idempotency).

    Written in the same transaction as the request's effect, so a key is either absent or holds
    the one result; the unique (scope, key) index makes concurrent duplicates wait for the first.
    Kept at least 7 days (purge_idempotency_keys).
    """

    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    # sha256 of the canonical request: the same key with another request is refused (409).
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    # JSON text exactly as first answered: replays are byte-identical (jsonb would reorder keys).
    body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="core_idempotency_scope_key"),
        ]

    def __str__(self):
        return f"{self.scope}:{self.key} → {self.status}"
