from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TerminalKind(models.TextChoices):
    POS = "pos", _("POS till")
    PC_DESK = "pc_desk", _("PC member desk")
    CARD_READER = "card_reader", _("Card reader")
    SCANNER = "scanner", _("Scanner")
    KIOSK = "kiosk", _("Kiosk")


class ShiftStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("shift", "Open")
    CLOSED = "closed", pgettext_lazy("shift", "Closed")


class CashMovementKind(models.TextChoices):
    """Cash put into the drawer (备用金补充) or taken out of it (e.g. banked) during a shift."""

    CASH_IN = "in", _("Cash in")
    CASH_OUT = "out", _("Cash out")
