"""Prepaid-card rules applied: the top-up check, the cash-refund limit, refund pricing, the custody report.

Per-merchant settings, stores at risk and agreements are in prepaid_settings.py (their names are
also reachable here, as callers have always used them); the rules are described in docs/money.md.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core.errors import BusinessError
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, Card, Posting
from onecard.loyalty.models.prepaid import (
    RefundPricing,
)
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.stored_value.errors import (
    AgreementNotAccepted,
    CashRefundTooLarge,
    CashTenderRefused,
    InvalidRefundReason,
    NoAgreementPublished,
    StoreMajorRisk,
)
from onecard.loyalty.stored_value.prepaid_settings import (
    CASH,
    REFUND_REASONS,
    SHANGHAI,
    accept_agreement,
    accepted_version,
    current_agreement,
    needs_acceptance,
    pk_of,
    prepaid_settings,
    publish_agreement,
    set_store_status,
    settings_for,
    shanghai_today,
    store_refusal,
    update_settings,
    void_clauses,
    yuan,
)
from onecard.members.choices import MemberKind

__all__ = [
    "AgreementNotAccepted",
    "BusinessError",
    "CashTenderRefused",
    "CustodyReport",
    "InvalidRefundReason",
    "NoAgreementPublished",
    "RefundQuote",
    "StoreMajorRisk",
    "accept_agreement",
    "accepted_version",
    "balance_refund_quote",
    "card_lineage",
    "check_cash_refund",
    "check_topup_allowed",
    "cooling_off_window",
    "current_agreement",
    "custody_report",
    "last_closed_quarter",
    "needs_acceptance",
    "prepaid_settings",
    "publish_agreement",
    "set_store_status",
    "settings_for",
    "shanghai_today",
    "store_refusal",
    "update_settings",
    "void_clauses",
]


# ---- the top-up check --------------------------------------------------------------------------------


def cash_limit(settings, member) -> tuple[int, bool]:
    """(limit in fen, is the buyer an organisation): a company member, or an unknown buyer, is an organisation."""
    organisation = member is None or member.kind == MemberKind.COMPANY
    return (settings.cash_limit_organisation if organisation else settings.cash_limit_person), organisation


def check_topup_allowed(card, amount, *, tender, store, today=None) -> None:
    """Refuse a top-up the prepaid rules forbid (store_major_risk, cash_tender_refused, agreement_not_accepted).

    Reads only; call it inside the top-up's transaction, before posting.
    """
    refusal = store_refusal(store, today)
    if refusal is not None:
        raise refusal
    member = card.member if card.member_id else None
    settings = settings_for(card.merchant_id)
    if str(tender or "").lower() == CASH:
        limit, organisation = cash_limit(settings, member)
        if amount >= limit:
            if organisation:
                message = _(
                    "Cash is not accepted for a top-up of %(limit)s or more by an organisation (or an anonymous "
                    "buyer). Take a bank transfer, card or mobile payment."
                )
            else:
                message = _(
                    "Cash is not accepted for a top-up of %(limit)s or more by a person. Take a bank transfer, "
                    "card or mobile payment."
                )
            raise CashTenderRefused(
                message % {"limit": yuan(limit)}, extra={"limit": limit, "requested": amount}
            )
    if member is not None and settings.agreement_required:
        version = current_agreement(card.merchant_id)
        if version is not None and accepted_version(member, version) is None:
            raise AgreementNotAccepted(
                _(
                    "The member has not accepted the current top-up agreement (version %(version)s). Show it to "
                    "the member and record the acceptance before topping up."
                )
                % {"version": version.version},
                extra={"member": member.pk, "version": version.version},
            )


def check_cash_refund(merchant, amount, method) -> None:
    """Refuse a cash refund above the merchant's cash refund limit (cash_refund_too_large)."""
    if str(method or "").lower() != CASH:
        return
    limit = settings_for(merchant).cash_refund_limit
    if amount > limit:
        raise CashRefundTooLarge(
            _("Refunds above %(limit)s are paid to a bank account in the holder's name, not in cash.")
            % {"limit": yuan(limit)},
            extra={"limit": limit, "requested": amount},
        )


# ---- refund pricing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundQuote:
    """What refunding a card's balance pays out and why; amounts in fen, `lines` for the receipt."""

    reason: str
    pricing: str
    principal_paid: int
    bonus_granted: int
    value_used: int
    list_value_used: int
    principal_used: int
    remaining: int
    refundable: int
    from_principal: int
    from_bonus: int
    forfeited: int
    cooling_off: bool = False
    payout_due: datetime.date | None = None
    lines: list[str] = field(default_factory=list)


def card_lineage(card) -> list[int]:
    """Ids of the card and every card it replaced or absorbed (their history is the card's history)."""
    ids, frontier = [card.pk], [card.pk]
    while frontier:
        frontier = list(
            Card.objects.filter(successor_id__in=frontier).exclude(pk__in=ids).values_list("pk", flat=True)
        )
        ids += frontier
    return ids


@dataclass
class _History:
    """What a card's history adds up to, for refund pricing (see balance_refund_quote)."""

    principal_paid: int = 0
    bonus_granted: int = 0
    value_used: int = 0
    list_value_used: int = 0
    principal_used: int = 0
    first_topup_at: datetime.datetime | None = None
    ever_used: bool = False


VOIDED_AWAY = (CardTxKind.TOPUP, CardTxKind.CHARGE)  # what stored_value.voids undoes


def _history(card_ids) -> _History:
    """Sum the card transactions of `card_ids` (a card and the cards it replaced or absorbed) into a _History."""
    rows = CardTransaction.objects.filter(card_id__in=card_ids).select_related("original").order_by("pk")
    h = _History()
    for tx in rows:
        if (tx.status == CardTxStatus.VOIDED and tx.kind in VOIDED_AWAY) or (
            tx.kind == CardTxKind.VOID and tx.original is not None and tx.original.kind in VOIDED_AWAY
        ):
            continue  # a voided top-up or charge never happened, and its void undid nothing else
        if tx.kind == CardTxKind.TOPUP:
            h.principal_paid += tx.principal
            h.bonus_granted += tx.bonus
            if h.first_topup_at is None:
                h.first_topup_at = tx.created_at
        elif tx.kind in (CardTxKind.CHARGE, CardTxKind.CAPTURE):
            h.ever_used = True
            net = tx.amount - tx.refunded_total
            list_amount = tx.list_amount or tx.amount
            h.value_used += net
            h.list_value_used += net * list_amount // tx.amount if tx.amount else 0
            h.principal_used += tx.principal
        elif tx.kind == CardTxKind.HOLD:
            h.ever_used = True
        elif tx.kind == CardTxKind.REFUND and tx.original is not None:
            if tx.original.kind == CardTxKind.TOPUP:
                h.principal_paid -= tx.amount
                h.bonus_granted -= tx.bonus
            else:
                h.principal_used -= tx.principal
    return h


def cooling_off_window(card, history=None, settings=None, now=None):
    """(window ends, eligible now): cooling-off applies while on, within the window, and nothing was used."""
    settings = settings or settings_for(card.merchant_id)
    history = history or _history(card_lineage(card))
    if not settings.cooling_off_enabled or history.first_topup_at is None:
        return None, False
    ends = history.first_topup_at + datetime.timedelta(days=settings.cooling_off_days)
    return ends, (now or timezone.now()) < ends and not history.ever_used


def balance_refund_quote(card, reason, *, now=None) -> RefundQuote:
    """Price the refund of a card's balance for `reason` ("member_request" or "merchant_fault"); writes nothing."""
    if reason not in REFUND_REASONS:
        raise InvalidRefundReason(extra={"reason": str(reason)[:40]})
    settings = settings_for(card.merchant_id)
    h = _history(card_lineage(card))
    balances = dict(Account.objects.filter(card_id=card.pk).values_list("kind", "balance"))
    principal_now = balances.get(AccountKind.MEMBER_PRINCIPAL, 0)
    bonus_now = balances.get(AccountKind.MEMBER_BONUS, 0)
    # Value that reached the card without a top-up row (a balance migrated from an earlier system,
    # or moved in by staff) counts as paid in: the holder never owes more than the card shows.
    p = max(h.principal_paid, principal_now + h.principal_used)
    b = max(h.bonus_granted, bonus_now + h.value_used - h.principal_used)
    remaining = max(0, p + b - h.value_used)
    lines = [
        _("Principal paid in: %(amount)s") % {"amount": yuan(p)},
        _("Bonus granted: %(amount)s") % {"amount": yuan(b)},
        _("Used (as charged): %(amount)s") % {"amount": yuan(h.value_used)},
        _("Left on the card: %(amount)s") % {"amount": yuan(remaining)},
    ]
    pricing = settings.member_refund_pricing
    cooling, payout_due = False, None
    if reason == "merchant_fault":
        pricing = "pro_rata"
        refundable = 0
        if p + b > 0:
            refundable = int((Decimal(p) * remaining / (p + b)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        lines.append(_("The merchant is at fault: used value is shared over principal and bonus."))
        lines.append(
            _("Refund = %(p)s × %(left)s ÷ %(total)s = %(refund)s")
            % {"p": yuan(p), "left": yuan(remaining), "total": yuan(p + b), "refund": yuan(refundable)}
        )
    elif pricing == RefundPricing.AS_CHARGED:
        refundable = max(0, p - h.principal_used)
        lines.append(_("The member asks; our agreement prices used value as charged."))
        lines.append(
            _("Refund = %(p)s − principal used %(used)s = %(refund)s")
            % {"p": yuan(p), "used": yuan(h.principal_used), "refund": yuan(refundable)}
        )
    else:
        refundable = max(0, p - h.list_value_used)
        lines.append(_("The member asks: used value is priced before discount."))
        lines.append(
            _("Refund = %(p)s − used at list price %(used)s = %(refund)s")
            % {"p": yuan(p), "used": yuan(h.list_value_used), "refund": yuan(refundable)}
        )
    if reason == "member_request":
        ends, cooling = cooling_off_window(card, h, settings, now)
        if cooling:
            payout_due = shanghai_today(now) + datetime.timedelta(days=settings.cooling_off_payout_days)
            refundable = p
            lines.append(
                _(
                    "Within the cooling-off period (until %(ends)s): the full principal is refunded, by %(due)s."
                )
                % {"ends": ends.astimezone(SHANGHAI).date().isoformat(), "due": payout_due.isoformat()}
            )
    refundable = min(refundable, remaining)
    from_principal = min(refundable, principal_now)
    return RefundQuote(
        reason=reason,
        pricing=pricing,
        principal_paid=p,
        bonus_granted=b,
        value_used=h.value_used,
        list_value_used=h.list_value_used,
        principal_used=h.principal_used,
        remaining=remaining,
        refundable=refundable,
        from_principal=from_principal,
        from_bonus=refundable - from_principal,
        forfeited=remaining - refundable,
        cooling_off=cooling,
        payout_due=payout_due,
        lines=lines,
    )


# ---- custody -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustodyReport:
    """Outstanding prepaid principal of one issuing company at a quarter's end against what is in custody."""

    merchant_id: int
    quarter: str
    period_end: datetime.date
    outstanding_principal: int
    custodied: int
    alert_ratio: Decimal
    required: int
    ratio: Decimal | None
    alert: bool


def parse_quarter(quarter) -> tuple[int, int]:
    """ "2026Q3" or (2026, 3) → (2026, 3); anything else is invalid_quarter."""
    try:
        if isinstance(quarter, str):
            year, q = quarter.upper().split("Q")
            year, q = int(year), int(q)
        else:
            year, q = (int(v) for v in quarter)
    except (TypeError, ValueError):
        raise BusinessError(_("Give a quarter like 2026Q3."), code="invalid_quarter") from None
    if not (1 <= q <= 4 and 2000 <= year <= 9999):
        raise BusinessError(_("Give a quarter like 2026Q3."), code="invalid_quarter")
    return year, q


def quarter_bounds(quarter) -> tuple[datetime.date, datetime.datetime]:
    """(last day of the quarter, first instant after it in Asia/Shanghai)."""
    year, q = parse_quarter(quarter)
    nxt = datetime.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    end = datetime.datetime(nxt.year, nxt.month, 1, tzinfo=SHANGHAI)
    return nxt - datetime.timedelta(days=1), end


def last_closed_quarter(now=None) -> str:
    """The last quarter that has ended (Asia/Shanghai), as "2026Q3"."""
    today = shanghai_today(now)
    q = (today.month - 1) // 3 + 1
    return f"{today.year - 1}Q4" if q == 1 else f"{today.year}Q{q - 1}"


def outstanding_principal(merchant, end) -> int:
    """Prepaid principal the merchant owed at instant `end`: principal postings before it + open holds' principal."""
    posted = Posting.objects.filter(
        account__merchant_id=pk_of(merchant),
        account__kind=AccountKind.MEMBER_PRINCIPAL,
        entry__created_at__lt=end,
    ).aggregate(total=Sum("amount"))["total"]
    held = CardTransaction.objects.filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=end),
        card__merchant_id=pk_of(merchant),
        kind=CardTxKind.HOLD,
        created_at__lt=end,
    ).aggregate(total=Sum("principal"))["total"]
    return (posted or 0) + (held or 0)


def custody_report(merchant, quarter) -> CustodyReport:
    """The quarterly custody report of one issuing company (CHINA-RULES): outstanding principal vs custody."""
    year, q = parse_quarter(quarter)
    last_day, end = quarter_bounds((year, q))
    settings = settings_for(merchant)
    outstanding = outstanding_principal(merchant, end)
    custodied = settings.custodied_amount
    alert_ratio = Decimal(settings.custody_ratio)
    required = int((Decimal(outstanding) * alert_ratio).quantize(Decimal(1), rounding=ROUND_CEILING))
    ratio = (
        (Decimal(custodied) / outstanding).quantize(Decimal("0.0001"), ROUND_HALF_UP) if outstanding else None
    )
    return CustodyReport(
        merchant_id=pk_of(merchant),
        quarter=f"{year}Q{q}",
        period_end=last_day,
        outstanding_principal=outstanding,
        custodied=custodied,
        alert_ratio=alert_ratio,
        required=required,
        ratio=ratio,
        alert=outstanding > 0 and Decimal(custodied) < Decimal(outstanding) * alert_ratio,
    )
