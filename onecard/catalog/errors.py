"""Refusals of the catalogue services, each with its own stable code (problem+json `code`)."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, PermissionDenied, ValidationFailed


class CatalogFieldError(ValidationFailed):
    """A field refusal with its own code; `field` names the field the message belongs to."""

    def __init__(self, field, message=None):
        super().__init__({field: [message or self.default_message]}, message or self.default_message)


class InvalidSku(CatalogFieldError):
    code = "catalog_invalid_sku"
    default_message = _("A SKU is 1 to 40 letters, digits, dots, dashes or underscores.")


class DuplicateSku(CatalogFieldError):
    code = "catalog_duplicate_sku"
    default_message = _("Another product already has this SKU.")


class InvalidBarcode(CatalogFieldError):
    code = "catalog_invalid_barcode"
    default_message = _("A barcode is 4 to 32 letters or digits.")


class DuplicateBarcode(CatalogFieldError):
    code = "catalog_duplicate_barcode"
    default_message = _("Another product already has this barcode.")


class InvalidPrice(CatalogFieldError):
    code = "catalog_invalid_price"
    default_message = _("A price must be greater than zero.")


class ForeignTier(CatalogFieldError):
    code = "catalog_foreign_tier"
    default_message = _("This tier belongs to another merchant.")


class UnknownCategory(CatalogFieldError):
    code = "catalog_unknown_category"
    default_message = _("No such category in this merchant's catalogue.")


class ForeignStore(CatalogFieldError):
    code = "catalog_foreign_store"
    default_message = _("Products can only be sold in stores of their own merchant.")


class DuplicateCategory(CatalogFieldError):
    code = "catalog_duplicate_category"
    default_message = _("A category with this name or code already exists here.")


class CategoryCycle(CatalogFieldError):
    code = "catalog_category_cycle"
    default_message = _("A category cannot be moved below itself.")


class CategoryInUse(BusinessError):
    code = "catalog_category_in_use"
    default_message = _("This category still holds active products or subcategories.")


class InvalidQuantity(BusinessError):
    code = "invalid_quantity"
    default_message = _("The quantity must be a whole number greater than zero.")


class HeadOfficeOnly(PermissionDenied):
    code = "catalog_head_office_only"
    default_message = _("The catalogue is managed by head office only.")


class ImportHasErrors(BusinessError):
    code = "catalog_import_has_errors"
    default_message = _(
        "The file has errors; nothing was imported. Correct the rows listed and upload it again."
    )
