"""What sales hangs on lower apps: the member 360 page's Purchases section (members/sections.py) and the
invoice facts of top-ups and their payouts, heard when loyalty records the card transaction, and of
packages sold and paid back.

Imported once by SalesConfig.ready.
"""

from django.db.models.signals import post_save

from onecard.loyalty.models import CardTransaction, MemberPackage

from . import invoicing
from .member_section import register_member_section


def _card_transaction_recorded(sender, instance, created, raw=False, **kwargs):
    """A new top-up or payout of top-up value gets its invoice fact in the same transaction."""
    if created and not raw:
        invoicing.record_card_transaction(instance)


def _package_recorded(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """A package sold, or refunded, gets its invoice facts in the same transaction (a use reads nothing here)."""
    refunded = update_fields and "status" in update_fields and instance.status == invoicing.PACKAGE_REFUNDED
    if not raw and (created or refunded):
        invoicing.record_package(instance)


def connect():
    """Add the member page's purchases section; record the invoice facts of card transactions."""
    register_member_section()
    post_save.connect(_card_transaction_recorded, sender=CardTransaction, dispatch_uid="sales.invoice_facts")
    post_save.connect(_package_recorded, sender=MemberPackage, dispatch_uid="sales.package_invoice_facts")
