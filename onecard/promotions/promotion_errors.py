"""Refusals of the promotion services: each bad parameter and each limit has its own stable code."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, Conflict


class PromotionInvalid(BusinessError):
    """A promotion field or parameter breaks its rule; `code` names which one."""

    code = "promotion_invalid"
    default_message = _("The promotion is not valid.")


MESSAGES = {
    "promotion_name_required": _("Give the promotion a name."),
    "promotion_invalid_kind": _("Choose a promotion type."),
    "promotion_invalid_owner": _("A promotion belongs to head office or a region of the same merchant."),
    "promotion_invalid_stores": _("The stores must be stores under the promotion's owner."),
    "promotion_invalid_dates": _("The promotion must end after it starts."),
    "promotion_invalid_weekdays": _("Weekdays are numbers from 1 (Monday) to 7 (Sunday)."),
    "promotion_invalid_time_window": _("Give both a daily start and end time, the start before the end."),
    "promotion_invalid_targets": _("Products and categories are lists of ids."),
    "promotion_invalid_limit": _("Stock and the per-member limit are whole numbers of at least 1."),
    "promotion_unknown_parameter": _("This promotion type has no parameter named %(name)s."),
    "promotion_invalid_rate": _(
        "The rate is the share of the price paid, above 0 and below 1 (0.85 means 15 percent off)."
    ),
    "promotion_invalid_tiers": _("The tiers must be tiers of this merchant."),
    "promotion_invalid_steps": _(
        "Each threshold step needs a spend above 0 and an amount off between 0 and it."
    ),
    "promotion_invalid_threshold": _("The spend threshold must be above ¥0."),
    "promotion_invalid_gift": _("Name the gift product and a quantity of at least 1."),
    "promotion_invalid_buy_get": _("Buy and free quantities must be at least 1."),
    "promotion_invalid_nth": _("The discounted item must be the 2nd or later."),
    "promotion_invalid_bundle": _("A bundle needs at least two different products and a price above ¥0."),
    "promotion_invalid_window": _("The birthday window is the day, the week or the month."),
    "promotion_invalid_birthday_offer": _("A birthday offer is either a rate or an amount off, not both."),
    "promotion_invalid_amount": _("The amount off must be above ¥0."),
}


def invalid(code, **values):
    """The PromotionInvalid for `code`, its message filled with `values`."""
    message = MESSAGES[code] % values if values else MESSAGES[code]
    return PromotionInvalid(message, code=code)


class StacksWithOthers(BusinessError):
    """The promotion would stack with others on the same items and the user has not confirmed it yet."""

    code = "promotion_stacks"
    default_message = _("This promotion stacks with others on the same items.")


class PromotionUnavailable(Conflict):
    """The promotion cannot be used for this sale (inactive, sold out, member cap reached)."""

    code = "promotion_unavailable"
    default_message = _("This promotion cannot be used.")


class PromotionSoldOut(PromotionUnavailable):
    code = "promotion_sold_out"
    default_message = _("This promotion is sold out.")


class PromotionMemberLimit(PromotionUnavailable):
    code = "promotion_member_limit"
    default_message = _("The member has already used this promotion as often as allowed.")


class PromotionInactive(PromotionUnavailable):
    code = "promotion_inactive"
    default_message = _("This promotion is not active.")
