"""Merchants, alliances, the org tree (HQ → regions → stores, any depth), roles and staff."""

from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.constraints import unique_per_merchant
from onecard.core.demo_logins import DEMO_PASSWORD
from onecard.core.fields import emptied_fk, merchant_field, node_field, protected_fk, staff_field

from .choices import LockScope, NodeKind
from .permissions import BUILTIN_ROLES, PERMISSIONS


class Alliance(models.Model):
    """A card alliance (联盟): merchants that accept each other's cards and settle between them."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("alliance")
        verbose_name_plural = _("alliances")

    def __str__(self):
        return self.name


class Merchant(models.Model):
    """A company that issues cards; owns one org tree and its members."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=30, unique=True)
    alliance = emptied_fk(Alliance, _("alliance"), related_name="merchants")
    # Set only by `onecard seed-demo` for the merchant it builds: every other merchant is real data, next to
    # which seed-demo refuses to run and no account keeps the published demo password (docs/operations.md).
    is_demo = models.BooleanField(_("demo"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self):
        return self.name


class OrgNode(models.Model):
    """One node of a merchant's org tree; `path` lists the ids from the root so a subtree is a prefix query."""

    merchant = merchant_field(_("merchant"), related_name="nodes")
    parent = protected_fk("self", _("parent"), related_name="children", optional=True)
    kind = models.CharField(_("type"), max_length=10, choices=NodeKind.choices)
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=30)
    # "/1/4/17/": written by services.create_node right after the insert, never by hand.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("org node")
        verbose_name_plural = _("org nodes")
        constraints = [
            unique_per_merchant("code", "org_node_code_unique_per_merchant"),
        ]

    def __str__(self):
        return self.name

    def is_within(self, other):
        """True when this node is `other` or lies below it."""
        return self.path.startswith(other.path)

    def subtree_ids(self):
        """Ids of this node and every node below it (one indexed prefix query on `path`)."""
        return list(OrgNode.objects.filter(path__startswith=self.path).values_list("id", flat=True))

    @property
    def is_store(self):
        return self.kind == NodeKind.STORE


class Role(models.Model):
    """A named set of permission codes; built-in roles have a code, custom ones belong to a merchant."""

    name = models.CharField(_("name"), max_length=60)
    code = models.SlugField(_("code"), max_length=40, blank=True)
    merchant = merchant_field(_("merchant"), related_name="roles", on_delete=models.CASCADE, optional=True)
    is_builtin = models.BooleanField(_("built-in"), default=False)
    permissions = models.JSONField(_("permissions"), default=list)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["-is_builtin", "id"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            unique_per_merchant("name", "org_role_name_unique_per_merchant"),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        """A built-in role's name in the reader's language (the stored name is the one of its creation)."""
        if self.is_builtin and self.code in BUILTIN_ROLES:
            return str(BUILTIN_ROLES[self.code][0])
        return self.name

    def permission_labels(self):
        return [PERMISSIONS[p] for p in self.permissions if p in PERMISSIONS]


class StaffManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        """Django's, except that the password the README publishes for the demo is never a superuser's.

        Every path to a superuser comes here (`createsuperuser` with or without a prompt, the
        DJANGO_SUPERUSER_PASSWORD variable, which skips the password validators, a shell).
        """
        if password is not None and password == DEMO_PASSWORD:
            # A ValidationError: `createsuperuser` turns it into a plain error message.
            raise ValidationError(
                _("This password is published with the OneCard demo; choose another."),
                code="password_published",
            )
        return super().create_superuser(username, email, password, **extra_fields)


class Staff(AbstractUser):
    """A person who logs in (操作员); bound to one org node, which gives the data scope."""

    node = node_field(_("org node"), related_name="staff", optional=True)
    roles = models.ManyToManyField(Role, verbose_name=_("roles"), blank=True, related_name="staff")
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # The UI language this person chose; empty follows the installation's default (Simplified Chinese),
    # never the browser's Accept-Language (onecard.core.middleware.LanguageMiddleware).
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True, default=""
    )
    # The quick log-in at the till (org.till_login): a 6-digit PIN, hashed like a password, and the staff
    # card (工牌) as a keyed hash of the merchant and the number, so a swipe finds its holder without the
    # number being stored. Unique: the merchant is part of the hash, so a number is unique per merchant.
    till_pin = models.CharField(_("till PIN"), max_length=128, blank=True, default="", editable=False)
    staff_card = models.CharField(
        _("staff card"), max_length=64, null=True, blank=True, unique=True, editable=False
    )

    objects = StaffManager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("staff")
        verbose_name_plural = _("staff")

    def __str__(self):
        return self.display_name or self.username

    @property
    def merchant(self):
        return self.node.merchant if self.node_id else None

    @cached_property
    def permission_codes(self) -> frozenset:
        """Every permission the staff's roles grant (all of them for a superuser)."""
        if self.is_superuser:
            return frozenset(PERMISSIONS)
        codes = set()
        for role in self.roles.all():
            codes.update(role.permissions)
        return frozenset(codes)

    def has_perm(self, perm, obj=None):
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        if perm in PERMISSIONS:
            return perm in self.permission_codes
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label):
        if self.is_active and self.is_superuser:
            return True
        return any(code.startswith(app_label + ".") for code in self.permission_codes)

    @property
    def sees_everything(self):
        """A superuser without a node sees every merchant's data."""
        return self.is_superuser and self.node_id is None


class SecondFactor(models.Model):
    """A staff member's authenticator (TOTP, RFC 6238): the secret, encrypted, and the last time step used.

    Unconfirmed until the person types a first code; only a confirmed one asks for the second step.
    """

    staff = models.OneToOneField(
        Staff, verbose_name=_("staff"), on_delete=models.CASCADE, related_name="second_factor"
    )
    # Fernet-encrypted base32 secret (org.totp.seal): a copy of the database alone does not give the codes.
    secret_sealed = models.TextField(editable=False)
    confirmed_at = models.DateTimeField(_("enrolled at"), null=True, blank=True)
    # The time step of the last accepted code: a code is accepted once, and never one older than it.
    last_used_step = models.BigIntegerField(default=0, editable=False)
    # Consecutive wrong codes; at the limit the second step is refused until `blocked_until`.
    failures = models.PositiveSmallIntegerField(default=0, editable=False)
    blocked_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("second factor")
        verbose_name_plural = _("second factors")

    def __str__(self):
        return f"{self.staff} TOTP"

    @property
    def is_confirmed(self):
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator once; only its SHA-256 is stored."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [
            models.UniqueConstraint(fields=["staff", "code_hash"], name="org_recovery_code_unique_per_staff")
        ]

    def __str__(self):
        return f"{self.staff} recovery code"


class StaffSession(models.Model):
    """One logged-in browser of a staff member: listed on their account, revocable, ended when idle or old.

    Only a hash of the session key is kept: the list must not hand out what would let one take a session
    over. A session without its row is over (org.staff_sessions, SessionLimitMiddleware).
    """

    staff = models.ForeignKey(
        Staff, verbose_name=_("staff"), on_delete=models.CASCADE, related_name="sessions"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    # "till" or "office": which idle and absolute limits apply (settings ONECARD_*SESSION_*), fixed at log-in
    # because a change of roles ends the session anyway.
    profile = models.CharField(_("kind"), max_length=10)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("started"))
    last_seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        ordering = ["-last_seen_at"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    def __str__(self):
        return f"{self.staff} {self.created_at:%Y-%m-%d %H:%M}"


class LoginFailure(models.Model):
    """One refused password (or unknown account name) at a log-in; what lock-outs count (org.lockout).

    Kept only as long as a lock-out can need it (the counting window plus the cool-off): the audit log
    keeps every failed log-in for good.
    """

    username = models.CharField(_("username"), max_length=150, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, db_index=True)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("failed log-in")
        verbose_name_plural = _("failed log-ins")

    def __str__(self):
        return f"{self.username} {self.ip} {self.at:%Y-%m-%d %H:%M:%S}"


class LoginLock(models.Model):
    """A lock-out of an account name or an address: log-ins are refused until `until` or until lifted."""

    scope = models.CharField(_("locked"), max_length=10, choices=LockScope.choices)
    key = models.CharField(_("account or address"), max_length=150)
    locked_at = models.DateTimeField(_("locked at"), default=timezone.now)
    until = models.DateTimeField(_("locked until"))
    lifted_at = models.DateTimeField(_("unlocked at"), null=True, blank=True)
    lifted_by = staff_field(_("unlocked by"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("log-in lock-out")
        verbose_name_plural = _("log-in lock-outs")
        indexes = [models.Index(fields=["scope", "key", "until"], name="org_loginlock_lookup")]

    def __str__(self):
        return f"{self.scope}:{self.key} until {self.until:%Y-%m-%d %H:%M}"
