"""Every write to the organisation: merchants, nodes, roles, staff. Each one is audited."""

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from onecard.core import audit
from onecard.core.demo_logins import DEMO_TILL_PIN, DEMO_TOTP_SECRET
from onecard.core.errors import BusinessError, PermissionDenied, ValidationFailed
from onecard.core.scoping import node_in_scope

from . import lockout, second_factor, staff_sessions, till_login
from .choices import LockScope, NodeKind
from .models import LoginFailure, LoginLock, Merchant, OrgNode, Role, Staff
from .passwords import published_password_holders
from .permissions import BUILTIN_ROLES, PERMISSIONS

# Which kinds of node may sit below which; a region may hold sub-regions (any depth).
_ALLOWED_CHILDREN = {
    NodeKind.HQ: {NodeKind.REGION, NodeKind.STORE},
    NodeKind.REGION: {NodeKind.REGION, NodeKind.STORE},
    NodeKind.STORE: set(),
}


@transaction.atomic
def create_merchant(actor, *, name, code, hq_name=None, alliance=None, is_demo=False):
    """A merchant with its headquarters node; a real one (not the demo's) ends the published demo password,
    the published demo authenticator key and the published demo till PIN."""
    if Merchant.objects.filter(code=code).exists():
        raise ValidationFailed({"code": [_("This code is already used.")]})
    merchant = Merchant.objects.create(name=name, code=code, alliance=alliance, is_demo=is_demo)
    hq = OrgNode.objects.create(merchant=merchant, kind=NodeKind.HQ, name=hq_name or name, code="HQ")
    _set_path(hq)
    audit.record(actor, "create", merchant, node=hq, after=audit.snapshot(merchant))
    if not is_demo:
        retire_published_passwords(actor)
        # The demo's authenticator key is published too (org.demo): no account keeps it as its second step,
        # whatever its password now is.
        second_factor.retire_published_key(actor, DEMO_TOTP_SECRET)
        till_login.retire_published_pin(actor, DEMO_TILL_PIN)
    return merchant


@transaction.atomic
def retire_published_passwords(actor):
    """Every account that still opens with the demo's published password gets none, and loses its API token.

    Run when a real merchant is created: a demo install that becomes a real one (or a demo added next to
    real data by an older release) must not leave `admin` / the README's password working. Audited per
    account; they get a password again on the staff pages, or `onecard changepassword` for a superuser.
    """
    holders = published_password_holders(Staff)
    for staff in holders:
        staff.set_unusable_password()
        staff.save(update_fields=["password"])
        Token.objects.filter(user=staff).delete()
        staff_sessions.end_all(actor, staff, reason="published demo password retired", revoke_token=False)
        audit.record(
            actor,
            "update",
            staff,
            node=staff.node,
            after={"password": "retired"},
            note="published demo password retired: real merchants exist",
        )
    return holders


def _set_path(node):
    node.path = (node.parent.path if node.parent_id else "/") + f"{node.pk}/"
    node.depth = node.path.count("/") - 2
    OrgNode.objects.filter(pk=node.pk).update(path=node.path, depth=node.depth)


@transaction.atomic
def create_node(actor, *, parent, kind, name, code, address="", phone=""):
    """A region or store below `parent`, which must lie in the actor's scope."""
    if actor is not None and not node_in_scope(actor, parent):
        raise PermissionDenied()
    errors = {}
    if kind not in _ALLOWED_CHILDREN.get(parent.kind, set()):
        errors["kind"] = [
            _("A %(child)s cannot be placed under a %(parent)s.")
            % {"child": NodeKind(kind).label, "parent": NodeKind(parent.kind).label}
        ]
    if not name.strip():
        errors["name"] = [_("Name is required.")]
    if not code.strip():
        errors["code"] = [_("Code is required.")]
    elif OrgNode.objects.filter(merchant_id=parent.merchant_id, code=code.strip()).exists():
        errors["code"] = [_("This code is already used.")]
    if errors:
        raise ValidationFailed(errors)
    node = OrgNode.objects.create(
        merchant_id=parent.merchant_id,
        parent=parent,
        kind=kind,
        name=name.strip(),
        code=code.strip(),
        address=address,
        phone=phone,
    )
    _set_path(node)
    if actor is not None:
        # The actor's cached scope was computed before this node existed.
        actor.__dict__.pop("_scope_node_ids", None)
    audit.record(actor, "create", node, after=audit.snapshot(node))
    return node


@transaction.atomic
def update_node(actor, node, *, name=None, address=None, phone=None, is_active=None):
    """Rename or (de)activate a node; moving a subtree is not offered because every history points at it."""
    if actor is not None and not node_in_scope(actor, node):
        raise PermissionDenied()
    before = audit.snapshot(node)
    if name is not None:
        if not name.strip():
            raise ValidationFailed({"name": [_("Name is required.")]})
        node.name = name.strip()
    if address is not None:
        node.address = address
    if phone is not None:
        node.phone = phone
    if is_active is not None:
        if node.kind == NodeKind.HQ and not is_active:
            raise ValidationFailed({"is_active": [_("Headquarters cannot be deactivated.")]})
        node.is_active = is_active
    node.save()
    b, a = audit.diff(before, audit.snapshot(node))
    if a:
        audit.record(actor, "update", node, before=b, after=a)
    return node


def ensure_builtin_roles():
    """Create or refresh the built-in roles (idempotent; run by migrations and seed-demo)."""
    roles = {}
    for code, (name, perms) in BUILTIN_ROLES.items():
        role, _created = Role.objects.update_or_create(
            code=code,
            merchant=None,
            is_builtin=True,
            defaults={"name": str(name), "permissions": list(perms)},
        )
        roles[code] = role
    return roles


def _clean_permissions(codes):
    unknown = [c for c in codes if c not in PERMISSIONS]
    if unknown:
        raise ValidationFailed(
            {"permissions": [_("Unknown permission: %(code)s") % {"code": ", ".join(unknown)}]}
        )
    return sorted(set(codes))


def _check_grantable(actor, codes):
    """Nobody hands out a permission they do not hold themselves."""
    if actor is None or actor.is_superuser:
        return
    missing = [c for c in codes if not actor.has_perm(c)]
    if missing:
        raise PermissionDenied(_("You cannot grant permissions you do not hold yourself."))


@transaction.atomic
def create_role(actor, *, merchant, name, permissions, description=""):
    """A custom role composed from permission codes."""
    codes = _clean_permissions(permissions)
    _check_grantable(actor, codes)
    if not name.strip():
        raise ValidationFailed({"name": [_("Name is required.")]})
    if Role.objects.filter(merchant=merchant, name=name.strip()).exists():
        raise ValidationFailed({"name": [_("A role with this name exists already.")]})
    role = Role.objects.create(
        merchant=merchant, name=name.strip(), permissions=codes, description=description
    )
    audit.record(
        actor, "permission", role, merchant=merchant, after=audit.snapshot(role), note=_("role created")
    )
    return role


@transaction.atomic
def update_role(actor, role, *, name=None, permissions=None, description=None):
    """Change a custom role; built-in roles stay as shipped."""
    if role.is_builtin:
        raise BusinessError(
            _("Built-in roles cannot be changed; create a custom role instead."), code="builtin_role"
        )
    before = audit.snapshot(role)
    if name is not None:
        if not name.strip():
            raise ValidationFailed({"name": [_("Name is required.")]})
        if Role.objects.filter(merchant=role.merchant, name=name.strip()).exclude(pk=role.pk).exists():
            raise ValidationFailed({"name": [_("A role with this name exists already.")]})
        role.name = name.strip()
    if permissions is not None:
        codes = _clean_permissions(permissions)
        _check_grantable(actor, set(codes) - set(role.permissions))
        role.permissions = codes
    if description is not None:
        role.description = description
    role.save()
    b, a = audit.diff(before, audit.snapshot(role))
    if a:
        audit.record(actor, "permission", role, merchant=role.merchant, before=b, after=a)
    return role


@transaction.atomic
def delete_role(actor, role):
    """Remove a custom role nobody holds any more."""
    if role.is_builtin:
        raise BusinessError(_("Built-in roles cannot be deleted."), code="builtin_role")
    if role.staff.exists():
        raise BusinessError(_("Staff still hold this role; take it from them first."), code="role_in_use")
    snap = audit.snapshot(role)
    audit.record(actor, "delete", role, merchant=role.merchant, before=snap)
    role.delete()


def _validate_staff_fields(actor, *, username=None, node, roles, password=None, instance=None):
    errors = {}
    if username is not None:
        if not username.strip():
            errors["username"] = [_("Username is required.")]
        elif (
            Staff.objects.filter(username=username.strip()).exclude(pk=getattr(instance, "pk", None)).exists()
        ):
            errors["username"] = [_("This username is taken.")]
    if node is None:
        errors["node"] = [_("Choose the org node this person works at.")]
    elif actor is not None and not node_in_scope(actor, node):
        errors["node"] = [_("You can only place staff in your own part of the organisation.")]
    for role in roles:
        if role.merchant_id is not None and node is not None and role.merchant_id != node.merchant_id:
            errors["roles"] = [_("A role of another merchant cannot be given.")]
    if password is not None:
        try:
            validate_password(password, user=instance)
        except DjangoValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def create_staff(actor, *, username, password, node, roles=(), display_name="", phone="", email=""):
    """A staff account bound to one node with the given roles."""
    roles = list(roles)
    _validate_staff_fields(actor, username=username, node=node, roles=roles, password=password)
    _check_grantable(actor, {c for r in roles for c in r.permissions})
    staff = Staff(
        username=username.strip(),
        node=node,
        display_name=display_name,
        phone=phone,
        email=email,
        is_superuser=False,
        is_staff=False,
    )
    staff.set_password(password)
    staff.save()
    staff.roles.set(roles)
    audit.record(
        actor,
        "create",
        staff,
        node=node,
        after={
            **audit.snapshot(staff, ["username", "display_name", "node", "is_active"]),
            "roles": [r.name for r in roles],
        },
    )
    return staff


def _refuse_own_role_change(actor, staff, roles):
    # Nobody changes their own permissions: a manager could otherwise drop a role that an audit expects
    # them to hold, or lock themselves out; another administrator does it (sending the same roles is fine).
    if roles is None or actor is None or actor.pk != staff.pk:
        return
    if {r.pk for r in roles} != {r.pk for r in staff.roles.all()}:
        raise BusinessError(
            _("You cannot change your own roles; ask another administrator."),
            code="self_role_change",
            status=403,
            field="roles",
        )


@transaction.atomic
def update_staff(
    actor, staff, *, node=None, roles=None, display_name=None, phone=None, email=None, is_active=None
):
    """Change a staff account; moving it or changing its roles is a permission change."""
    if actor is not None and not node_in_scope(actor, staff.node):
        raise PermissionDenied()
    before = {
        **audit.snapshot(staff, ["display_name", "node", "phone", "email", "is_active"]),
        "roles": sorted(r.name for r in staff.roles.all()),
    }
    new_roles = list(roles) if roles is not None else list(staff.roles.all())
    _validate_staff_fields(actor, node=node or staff.node, roles=new_roles, instance=staff)
    _refuse_own_role_change(actor, staff, roles)
    if roles is not None:
        added = {c for r in new_roles for c in r.permissions} - set(staff.permission_codes)
        _check_grantable(actor, added)
    if actor is not None and actor.pk == staff.pk and is_active is False:
        raise BusinessError(_("You cannot deactivate your own account."), code="self_deactivation")
    for attr, value in (
        ("node", node),
        ("display_name", display_name),
        ("phone", phone),
        ("email", email),
        ("is_active", is_active),
    ):
        if value is not None:
            setattr(staff, attr, value)
    staff.save()
    if roles is not None:
        staff.roles.set(new_roles)
    staff.__dict__.pop("permission_codes", None)
    after = {
        **audit.snapshot(staff, ["display_name", "node", "phone", "email", "is_active"]),
        "roles": sorted(r.name for r in new_roles),
    }
    b, a = audit.diff(before, after)
    if a:
        action = "permission" if ("roles" in a or "node" in a) else "update"
        audit.record(actor, action, staff, node=staff.node, before=b, after=a)
        # New roles or scope, or no access at all: no log-in keeps what it was granted before.
        if action == "permission" or a.get("is_active") is False:
            reason = "roles changed" if action == "permission" else "deactivated"
            staff_sessions.end_all(actor, staff, reason=reason)
    return staff


@transaction.atomic
def set_staff_language(actor, staff, language):
    """Set the language of someone's pages ("" follows the installation's default); audited."""
    if language not in {"", *(code for code, _name in settings.LANGUAGES)}:
        raise ValidationFailed({"language": [_("Choose one of the offered languages.")]})
    if actor is not None and actor.pk != staff.pk and not node_in_scope(actor, staff.node):
        raise PermissionDenied()
    before = audit.snapshot(staff, ["language"])
    staff.language = language
    staff.save(update_fields=["language"])
    audit.record(actor, "update", staff, node=staff.node, before=before, after={"language": language})
    return staff


@transaction.atomic
def set_staff_password(actor, staff, new_password, *, keep_session_key=None):
    """Set a new password (by the person or an administrator) and end the account's other log-ins."""
    try:
        validate_password(new_password, user=staff)
    except DjangoValidationError as exc:
        raise ValidationFailed({"password": list(exc.messages)}) from None
    staff.set_password(new_password)
    staff.save(update_fields=["password"])
    password_changed(actor, staff, keep_session_key=keep_session_key)
    return staff


@transaction.atomic
def password_changed(actor, staff, *, keep_session_key=None):
    """After a new password: the API token and every other session end; the change is audited (never the password).

    Django also ends a session whose stored password hash no longer matches; ending the StaffSession rows
    as well keeps the session lists true and does not depend on that. The session that changed its own
    password (`keep_session_key`) stays.
    """
    staff_sessions.end_all(
        actor, staff, reason="password changed", keep_key=keep_session_key, revoke_token=False
    )
    revoked = Token.objects.filter(user=staff).delete()[0]
    note = "api token revoked" if revoked else ""
    audit.record(actor, "update", staff, node=staff.node, after={"password": "changed"}, note=note)


@transaction.atomic
def issue_api_token(staff):
    """The staff's API token (one per person, created on first use); each issue is audited as a log-in."""
    token, _created = Token.objects.get_or_create(user=staff)
    audit.record(staff, "login", staff, node=staff.node, note="api token")
    return token.key


@transaction.atomic
def revoke_api_token(staff):
    """Log out of the API: the token stops working at once; audited as a log-out."""
    Token.objects.filter(user=staff).delete()
    audit.record(staff, "logout", staff, node=staff.node, note="api token")


# ---- log-in lock-out (org.lockout) -----------------------------------------------------------------------


def _login_subject(username):
    """The audit subject of a log-in as `username`: the account when it exists, else the name as typed."""
    staff = Staff.objects.select_related("node__merchant").filter(username=username).first()
    if username and staff is not None:
        return {"subject": staff, "node": staff.node}
    return {"subject_type": "org.staff", "subject_repr": username or "—"}


@transaction.atomic
def record_login_failure(username, *, ip=None, refused_by=None, method=""):
    """A failed log-in, audited; a wrong password is counted and may lock the account name and the address.

    `method` names a log-in other than the password (the till's PIN or staff card, org.till_login): its
    failures count the same, and the audit row says which it was.

    `refused_by` is the lock that refused the attempt before any password was checked: such an attempt is
    audited but not counted, so hammering a locked account does not lengthen its lock. The account name
    is locked whether or not such an account exists, so a lock-out tells nobody which names are real.
    """
    username = (username or "")[:150]
    subject = _login_subject(username)
    by_method = {"method": method} if method else {}
    if refused_by is not None:
        audit.record(
            None,
            "login_failed",
            **subject,
            after={
                "username": username,
                **by_method,
                "locked": refused_by.scope,
                "locked_until": refused_by.until,
            },
            note="refused: log-in locked",
        )
        return []
    rules = lockout.policy()
    now = timezone.now()
    # Failures matter only while a lock can still need them; the audit log keeps them all.
    LoginFailure.objects.filter(at__lt=now - rules.window - rules.cool_off).delete()
    LoginFailure.objects.create(username=username, ip=ip, at=now)
    placed = []
    for scope, key, field, limit in (
        (LockScope.ACCOUNT, username, "username", rules.account_limit),
        (LockScope.ADDRESS, ip, "ip", rules.address_limit),
    ):
        if not key:
            continue
        failures = LoginFailure.objects.filter(**{field: key}, at__gt=now - rules.window)
        last_lock = LoginLock.objects.filter(scope=scope, key=key).order_by("-locked_at").first()
        if last_lock is not None:  # a lock ended (or was lifted): count afresh from there
            failures = failures.filter(at__gt=last_lock.locked_at)
        if failures.count() >= limit:
            until = now + rules.cool_off
            placed.append(LoginLock.objects.create(scope=scope, key=key, locked_at=now, until=until))
    after = {"username": username, **by_method}
    if placed:
        after["locked"] = [lock.scope for lock in placed]
    wrong = f"wrong {method}" if method else "wrong password"
    audit.record(None, "login_failed", **subject, after=after, note=wrong + ("; locked" if placed else ""))
    return placed


@transaction.atomic
def unlock_staff(actor, staff):
    """Lift the lock-out of an account, and of each address that its own failures locked; audited.

    An address lock is lifted when the other accounts' failures that led to it do not reach the limit by
    themselves: a person who mistyped their password five times is locked by name and by address, and the
    unlock must let them in again, but not someone else who was guessing from the same address. The
    account's failures are forgiven: it starts counting afresh.
    """
    if actor is not None and not node_in_scope(actor, staff.node):
        raise PermissionDenied()
    rules = lockout.policy()
    now = timezone.now()
    lifted = list(lockout.active_locks().filter(scope=LockScope.ACCOUNT, key=staff.username))
    own = LoginFailure.objects.filter(username=staff.username)
    # Read as text here: a lock's key is text, the failure's address an inet column on PostgreSQL.
    own_addresses = {str(ip) for ip in own.exclude(ip=None).values_list("ip", flat=True)}
    for lock in lockout.active_locks().filter(scope=LockScope.ADDRESS, key__in=own_addresses):
        others = LoginFailure.objects.filter(
            ip=lock.key, at__gt=lock.locked_at - rules.window, at__lte=lock.locked_at
        ).exclude(username=staff.username)
        if others.count() < rules.address_limit:
            lifted.append(lock)
    own.delete()
    if not lifted:
        return []
    LoginLock.objects.filter(pk__in=[lock.pk for lock in lifted]).update(lifted_at=now, lifted_by=actor)
    audit.record(
        actor,
        "unlock",
        staff,
        node=staff.node,
        before={"locked_until": max(lock.until for lock in lifted)},
        after={"unlocked": sorted(f"{lock.scope}:{lock.key}" for lock in lifted)},
    )
    return lifted
