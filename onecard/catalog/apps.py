from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    """Products and services a merchant sells: SKUs, barcodes, categories, list and member prices."""

    name = "onecard.catalog"
    label = "catalog"
    verbose_name = _("Catalogue")
