"""Terminals (O3): devices registered to a store, each with its own signing secret; used nonces."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from onecard.core.fields import node_field
from onecard.pos.choices import TerminalKind


class Terminal(models.Model):
    """A POS till, PC member desk, card reader, scanner or kiosk of one store.

    `secret` is the HMAC key of the terminal's signed requests. The server must compute the same HMAC,
    so the secret is stored as issued (not hashed); it is shown once, at registration and at each
    rotation, and never again (docs/pos-api.md, "The secret").
    """

    store = node_field(_("store"), related_name="terminals")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("type"), max_length=12, choices=TerminalKind.choices, default=TerminalKind.POS)
    terminal_id = models.CharField(_("terminal ID"), max_length=40, unique=True)
    secret = models.CharField(max_length=100, editable=False)
    secret_rotated_at = models.DateTimeField(_("secret issued at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["terminal_id"]
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")

    def __str__(self):
        return f"{self.terminal_id} {self.name}"

    @property
    def audit_node(self):
        return self.store


class UsedNonce(models.Model):
    """A nonce a terminal has used; the unique pair refuses a replay across every web process.

    Rows are kept at least 600 s (a timestamp is accepted up to 300 s either side of the server clock,
    so a nonce can come back at most 600 s after it was first seen) and purged after 15 minutes.
    """

    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["terminal", "nonce"], name="pos_nonce_unique_per_terminal"),
        ]

    def __str__(self):
        return self.nonce
