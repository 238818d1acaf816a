from django.db import models
from django.utils.translation import gettext_lazy as _


class NodeKind(models.TextChoices):
    HQ = "hq", _("Headquarters")
    REGION = "region", _("Region")
    STORE = "store", _("Store")
