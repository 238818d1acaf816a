from django.db import models
from django.utils.translation import gettext_lazy as _


class TerminalKind(models.TextChoices):
    POS = "pos", _("POS till")
    PC_DESK = "pc_desk", _("PC member desk")
    CARD_READER = "card_reader", _("Card reader")
    SCANNER = "scanner", _("Scanner")
    KIOSK = "kiosk", _("Kiosk")
