"""The audit trail (O4): one immutable row per change of business data, rules or permissions."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from onecard.core.fields import merchant_field, node_field, staff_field


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


class AuditEntry(models.Model):
    """Who did what to which record, with the values before and after; written only, never edited."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = staff_field(_("actor"))
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=60, db_index=True)
    subject_id = models.CharField(_("subject id"), max_length=40, blank=True, db_index=True)
    subject_repr = models.CharField(_("subject"), max_length=200, blank=True)
    # The org node whose data this is; scopes the audit log like every other list.
    node = node_field(on_delete=models.SET_NULL, optional=True)
    merchant = merchant_field(on_delete=models.SET_NULL, optional=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self):
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.subject_type}:{self.subject_id}"
        )


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
