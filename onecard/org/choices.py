from django.db import models
from django.utils.translation import gettext_lazy as _


class NodeKind(models.TextChoices):
    HQ = "hq", _("Headquarters")
    REGION = "region", _("Region")
    STORE = "store", _("Store")


class LockScope(models.TextChoices):
    """What a log-in lock-out holds back: one account name (from anywhere) or one address (any account)."""

    ACCOUNT = "account", _("Account")
    ADDRESS = "address", _("Address")
