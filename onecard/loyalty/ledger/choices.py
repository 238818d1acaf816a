"""Enumerations of the ledger: account kinds, currencies and journal entry kinds."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Currency(models.TextChoices):
    """What an account counts: fen of Chinese yuan, or loyalty points. Entries balance per currency."""

    CNY = "CNY", _("Yuan (fen)")
    POINTS = "POINTS", _("Points")


class AccountKind(models.TextChoices):
    """The purpose of an account. Member-facing kinds may never go negative (see MEMBER_FACING_KINDS).

    Sign convention (one signed balance per account, all accounts summing to zero): what the
    merchant owes is positive — member balances, revenue earned — and what it holds or spends is
    negative — cash taken in, bonus and points given away. A top-up of ¥500 makes the store's
    cash −50000 and the member's principal +50000.
    """

    # What a member holds: value the merchant owes the member.
    MEMBER_PRINCIPAL = "member_principal", _("Member stored value (principal)")
    MEMBER_BONUS = "member_bonus", _("Member stored value (bonus)")
    MEMBER_POINTS = "member_points", _("Member points")
    HOLD_RESERVE = "hold_reserve", _("Funds reserved by a hold")
    MEMBER_PACKAGE = "member_package", _("Member prepaid packages (count and period cards)")
    # The merchant's side.
    STORE_CASH = "store_cash", _("Store cash taken")
    STORE_REVENUE = "store_revenue", _("Store revenue")
    BONUS_EXPENSE = "bonus_expense", _("Bonus value granted")
    POINTS_EXPENSE = "points_expense", _("Points granted")
    POINTS_REDEEMED = "points_redeemed", _("Points redeemed")
    POINTS_EXPIRED = "points_expired", _("Points expired")
    CLEARING = "clearing", _("Inter-store / inter-merchant clearing")
    ADJUSTMENT = "adjustment", _("Manual adjustments")


# Accounts of these kinds carry must_not_go_negative=True and the database CHECK that enforces it.
MEMBER_FACING_KINDS = frozenset(
    {
        AccountKind.MEMBER_PRINCIPAL,
        AccountKind.MEMBER_BONUS,
        AccountKind.MEMBER_POINTS,
        AccountKind.HOLD_RESERVE,
        AccountKind.MEMBER_PACKAGE,
    }
)

# Accounts of these kinds count points; every other kind counts fen.
POINTS_KINDS = frozenset(
    {
        AccountKind.MEMBER_POINTS,
        AccountKind.POINTS_EXPENSE,
        AccountKind.POINTS_REDEEMED,
        AccountKind.POINTS_EXPIRED,
    }
)


class EntryKind(models.TextChoices):
    """Why a journal entry was posted."""

    TOPUP = "topup", _("Top-up")
    CHARGE = "charge", _("Charge")
    REFUND = "refund", _("Refund")
    HOLD = "hold", _("Hold")
    CAPTURE = "capture", _("Capture")
    VOID = "void", _("Void")
    EXPIRE = "expire", _("Expiry")
    EARN = "earn", _("Points earned")
    REDEEM = "redeem", _("Points redeemed")
    REBATE = "rebate", _("Rebate")
    ADJUST = "adjust", _("Adjustment")
    TRANSFER = "transfer", _("Transfer")
    SETTLE = "settle", _("Settlement")
    REVERSAL = "reversal", _("Reversal")
    PACKAGE_SALE = "package_sale", _("Package sold")
    PACKAGE_USE = "package_use", _("Package used")
    PACKAGE_REFUND = "package_refund", _("Package refunded")
    PACKAGE_EXPIRE = "package_expire", _("Package expired")
