"""Refusals of the package services, each with a stable problem+json `code`."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, NotFound
from onecard.loyalty.cards.errors import CardError


class PackageError(CardError):
    """A refusal of the package services (HTTP 422 unless stated)."""


class PackageNotFound(NotFound):
    code = "package_not_found"
    default_message = _("No package has this id.")


class PackageNotOnSale(PackageError):
    code = "package_not_on_sale"
    default_message = _("This package is not on sale.")


class PackageNotAccepted(PackageError):
    code = "package_not_accepted_here"
    default_message = _("This package cannot be used at this store.")


class PackageUsedUp(PackageError):
    code = "package_used_up"
    default_message = _("No uses are left of this service in the package.")


class PackageExpired(PackageError):
    code = "package_expired"
    default_message = _("This package has expired.")


class PackageServiceUnknown(PackageError):
    code = "package_service_unknown"
    default_message = _("This package does not include that service.")


class PackageDailyCapReached(PackageError):
    code = "package_daily_cap_reached"
    default_message = _("This package has reached its uses for today.")


class PackageClosed(PackageError):
    code = "package_closed"
    default_message = _("This package was already used up, refunded or expired.")


class InvalidUseCount(BusinessError):
    code = "invalid_use_count"
    default_message = _("The number of uses must be a whole number from 1 to 100.")


class InvalidTender(BusinessError):
    code = "invalid_tender"
    default_message = _("Choose how the package was paid: cash, bank card, WeChat Pay or Alipay.")
