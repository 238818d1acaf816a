"""Enumerations of the catalogue."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProductKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    SERVICE = "service", _("Service")
