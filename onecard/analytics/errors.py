"""Refusals of the analytics services, with stable codes (core.errors)."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import Refused


class TooFewBuyers(Refused):
    """Too few members bought more than once for the lifetime-value models to be fitted."""

    code = "too_few_buyers"
    default_message = _("Too few members have bought more than once to fit the lifetime-value models.")


class ModelNotUsable(Refused):
    """The fitted spend model has no finite mean (q ≤ 1): its predictions would be meaningless."""

    code = "clv_model_not_usable"
    default_message = _(
        "The spend model fitted to these sales has no finite mean; no value can be predicted."
    )
