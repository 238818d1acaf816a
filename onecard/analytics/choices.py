"""The classes analytics gives members: the eight RFM classes, ABCD, the life-cycle stages."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RfmClass(models.TextChoices):
    """R, F and M each above (↑) or not above (↓) the merchant's average score."""

    IMPORTANT_VALUE = "important_value", _("重要价值 Important value")  # R↑ F↑ M↑
    IMPORTANT_GROW = "important_grow", _("重要发展 Important to develop")  # R↑ F↓ M↑
    IMPORTANT_KEEP = "important_keep", _("重要保持 Important to keep")  # R↓ F↑ M↑
    IMPORTANT_WIN_BACK = "important_win_back", _("重要挽留 Important to win back")  # R↓ F↓ M↑
    GENERAL_VALUE = "general_value", _("一般价值 General value")  # R↑ F↑ M↓
    GENERAL_GROW = "general_grow", _("一般发展 General to develop")  # R↑ F↓ M↓
    GENERAL_KEEP = "general_keep", _("一般保持 General to keep")  # R↓ F↑ M↓
    GENERAL_WIN_BACK = "general_win_back", _("一般挽留 General to win back")  # R↓ F↓ M↓


class AbcdClass(models.TextChoices):
    """Frequency × amount (the 80/20 pyramid): A both high, B frequent, C high amount, D neither."""

    A = "A", _("A: frequent, high spend")
    B = "B", _("B: frequent, lower spend")
    C = "C", _("C: high spend, infrequent")
    D = "D", _("D: infrequent, low spend")


class LifeStage(models.TextChoices):
    """Where a member is in the life cycle, by their purchases and the merchant's thresholds."""

    PROSPECT = "prospect", _("潜在 Prospect")
    INTERESTED = "interested", _("意向 Interested")
    FIRST_PURCHASE = "first_purchase", _("首购 First purchase")
    NEW = "new", _("新客 New customer")
    ACTIVE = "active", _("活跃 Active")
    LAPSING = "lapsing", _("沉睡预警 Lapsing")
    DORMANT = "dormant", _("沉睡 Dormant")
    LOST = "lost", _("流失 Lost")


class ScoreMethod(models.TextChoices):
    """How score boundaries are set: from the merchant's own members, or fixed values."""

    QUINTILES = "quantiles", _("From the members (quantiles)")
    FIXED = "fixed", _("Fixed values")
