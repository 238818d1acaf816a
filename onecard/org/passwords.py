"""The password the README publishes for the demo logins: refused for any account set up by hand, and
found on the accounts that still have it once real merchants exist (docs/operations.md)."""

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from onecard.core.demo_logins import DEMO_PASSWORD


class NotThePublishedDemoPassword:
    """Password validator: everybody can read the demo's password in the README, so it protects nothing."""

    def validate(self, password, user=None):
        if password == DEMO_PASSWORD:
            raise ValidationError(
                _("This password is published with the OneCard demo; choose another."),
                code="password_published",
            )

    def get_help_text(self):
        return _("Your password cannot be the one published with the OneCard demo.")


def published_password_holders(staff_model):
    """The accounts that still log in with the published demo password (the model may be a migration's).

    Only the accounts a demo could have made are checked (the demo merchants' staff, superusers, accounts
    without a node): a hash check costs a fraction of a second, and the demo gives all its accounts one
    hash, so each distinct hash is checked once.
    """
    candidates = staff_model.objects.filter(
        Q(node__merchant__is_demo=True) | Q(is_superuser=True) | Q(node__isnull=True)
    ).exclude(password__startswith="!")  # noqa: S106 - an unusable password (Django marks it "!") opens nothing
    return hash_holders(candidates, "password", DEMO_PASSWORD)


def hash_holders(candidates, field: str, secret: str) -> list:
    """The accounts among `candidates` whose hashed `field` is `secret`, in id order; each distinct hash is
    checked once (a PBKDF2 check costs a good part of a second)."""
    verdict, holders = {}, []
    for staff in candidates.order_by("pk"):
        hashed = getattr(staff, field)
        if hashed not in verdict:
            verdict[hashed] = check_password(secret, hashed)
        if verdict[hashed]:
            holders.append(staff)
    return holders
