"""Refusals of the points services, each with a stable problem+json `code`."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, Refused


class InvalidPoints(BusinessError):
    code = "invalid_points"
    default_message = _("The number of points must be a whole number above zero.")


class PointsRateMissing(Refused):
    code = "points_rate_missing"
    default_message = _("No points rule applies to this sale.")


class AdjustmentReasonRequired(BusinessError):
    code = "adjustment_reason_required"
    default_message = _("A points adjustment needs a reason.")
