"""Prepaid-card rules (单用途商业预付卡, CHINA-RULES.md) that touch stored value, as per-merchant settings.

These are summaries of public rules, not legal advice; each merchant sets its own city's values.

- Settings: one `PrepaidSettings` row per merchant, created with the defaults on first read by
  `prepaid_settings`; `settings_for` reads the row or unsaved defaults, so checks never write.
- Top-up checks (`check_topup_allowed`), in this order, each a BusinessError with its own code,
  nothing written:
  `store_major_risk` — the store is flagged as a major risk, or today (Asia/Shanghai) is on or
  after its closure date; `cash_tender_refused` — cash for a top-up of `cash_limit_organisation`
  (¥5,000) or more by a company member, or `cash_limit_person` (¥50,000) or more by a person; a
  card without a member counts as an organisation (the buyer is unknown, so the lower limit keeps
  the store on the safe side); `agreement_not_accepted` — the merchant requires the agreement, has
  published one, and the card's member has not accepted the CURRENT version. A card without a
  member is not refused: acceptance is recorded per member, and an anonymous card's buyer takes the
  printed agreement with the card.
- Refund pricing (`balance_refund_quote`), from the card's history (the card and the cards it
  replaced or absorbed); P principal paid in (top-ups minus top-up refunds), B bonus granted (minus
  bonus withdrawn), U value used (charges and captures minus their refunds, as charged), L the same
  used value at list price (before the tier discount), R = P + B − U left on the card:
    member_request, list_price (the rule): refundable = max(0, P − L), at most R. The bonus is the
      discount of the prepaid deal, so what was used is paid for out of principal at full price.
      Paid ¥3,000 + bonus ¥1,000, used ¥2,000 at list price → ¥3,000 − ¥2,000 = ¥1,000.
    member_request, as_charged (an agreement that favours the member): refundable = P − principal
      used, i.e. the principal left.
    merchant_fault: used value pro-rated over principal + bonus: refundable = P × R / (P + B),
      rounded half-up to the fen. Paid ¥3,000 + bonus ¥1,000, used ¥2,000 → ¥3,000 × ¥2,000 /
      ¥4,000 = ¥1,500.
  List value of a partly refunded charge: (amount − refunded) × list / amount, rounded down (the
  member's favour). Open holds count as not used (card cancel refuses a card with open holds).
  Cooling-off (when on): a member request within `cooling_off_days` of the first top-up, on a card
  never charged or held, refunds P in full, payable by today + `cooling_off_payout_days`.
  The payout comes from the principal balance first, then the bonus balance (`from_principal`,
  `from_bonus`): with principal-first consumption the pro-rated refund can exceed the principal left.
- Custody (`custody_report`): outstanding principal at the quarter's end (Asia/Shanghai) = every
  member principal posting of the merchant before it + the principal reserved by holds open at
  that moment; alert when custodied < outstanding × ratio (exact Decimal comparison); the
  required amount is rounded up to the fen.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onecard.core import audit
from onecard.core.errors import BusinessError, PermissionDenied, ValidationFailed
from onecard.core.money import fen_to_yuan_str
from onecard.core.scoping import require_node_in_scope
from onecard.loyalty.cards.errors import CardError
from onecard.loyalty.cards.products import require_merchant_wide_scope
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, Card, Posting
from onecard.loyalty.models.prepaid import (
    AcceptanceChannel,
    AgreementAcceptance,
    AgreementVersion,
    PrepaidSettings,
    PrepaidStoreStatus,
    RefundPricing,
)
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
from onecard.members.choices import MemberKind

SHANGHAI = ZoneInfo("Asia/Shanghai")
CASH = "cash"
MAX_AGREEMENT_CHARS = 50_000
REFUND_REASONS = ("member_request", "merchant_fault")
SETTINGS_FIELDS = (
    "cash_limit_organisation",
    "cash_limit_person",
    "cash_refund_limit",
    "agreement_required",
    "member_refund_pricing",
    "cooling_off_enabled",
    "cooling_off_days",
    "cooling_off_payout_days",
    "custody_ratio",
    "custodied_amount",
    "custodied_as_of",
)


# ---- refusals ----------------------------------------------------------------------------------------


class AgreementNotAccepted(CardError):
    code = "agreement_not_accepted"
    default_message = gettext_lazy(
        "The member has not accepted the current top-up agreement. Show it to the member and record the "
        "acceptance before topping up."
    )


class CashTenderRefused(CardError):
    code = "cash_tender_refused"
    default_message = gettext_lazy("Cash is not accepted for a top-up of this size; take another way to pay.")


class StoreMajorRisk(CardError):
    code = "store_major_risk"
    default_message = gettext_lazy("This store takes no new top-ups.")


class NoAgreementPublished(CardError):
    code = "no_agreement_published"
    default_message = gettext_lazy("This merchant has no published top-up agreement to accept.")


class InvalidRefundReason(BusinessError):
    code = "invalid_refund_reason"
    default_message = gettext_lazy(
        "Choose why the balance is refunded: the member asks, or the merchant is at fault."
    )


def _yuan(fen) -> str:
    return "¥" + fen_to_yuan_str(fen)


def _pk(value):
    return getattr(value, "pk", value)


def shanghai_today(now=None) -> datetime.date:
    return (now or timezone.now()).astimezone(SHANGHAI).date()


# ---- settings ----------------------------------------------------------------------------------------


def settings_for(merchant) -> PrepaidSettings:
    """The merchant's settings row, or an unsaved one with the CHINA-RULES defaults (never writes)."""
    row = PrepaidSettings.objects.filter(merchant_id=_pk(merchant)).first()
    return row if row is not None else PrepaidSettings(merchant_id=_pk(merchant))


def prepaid_settings(merchant) -> PrepaidSettings:
    """The merchant's settings row, created with the defaults the first time it is read."""
    try:
        with transaction.atomic():
            row, _created = PrepaidSettings.objects.get_or_create(merchant_id=_pk(merchant))
    except IntegrityError:  # a concurrent first read created it
        row = PrepaidSettings.objects.get(merchant_id=_pk(merchant))
    return row


def _clean_settings(values) -> dict:
    errors = {}
    for name in ("cash_limit_organisation", "cash_limit_person"):
        value = values.get(name)
        if value is not None and (type(value) is not int or value <= 0):
            errors[name] = [_("A whole number of fen above zero.")]
    for name in ("cash_refund_limit", "custodied_amount"):
        value = values.get(name)
        if value is not None and (type(value) is not int or value < 0):
            errors[name] = [_("A whole number of fen, zero or more.")]
    for name in ("cooling_off_days", "cooling_off_payout_days"):
        value = values.get(name)
        if value is not None and (type(value) is not int or not 1 <= value <= 365):
            errors[name] = [_("A number of days from 1 to 365.")]
    ratio = values.get("custody_ratio")
    if ratio is not None and (not isinstance(ratio, Decimal) or not Decimal(0) <= ratio <= Decimal(1)):
        errors["custody_ratio"] = [_("A ratio from 0 to 1, e.g. 0.20 for 20%.")]
    pricing = values.get("member_refund_pricing")
    if pricing is not None and pricing not in RefundPricing.values:
        errors["member_refund_pricing"] = [_("Choose how used value is priced.")]
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        errors["__all__"] = [_("Unknown settings: %(names)s") % {"names": ", ".join(sorted(unknown))}]
    if errors:
        raise ValidationFailed(errors)
    return values


@transaction.atomic
def update_settings(actor, merchant, **values) -> PrepaidSettings:
    """Change a merchant's prepaid rules (head office only), audited with the values before and after."""
    require_merchant_wide_scope(actor, merchant)
    _clean_settings(values)
    row = prepaid_settings(merchant)
    row = PrepaidSettings.objects.select_for_update().get(pk=row.pk)
    before = audit.snapshot(row, SETTINGS_FIELDS)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_by = actor if actor is not None and actor.pk else None
    row.save()
    old, new = audit.diff(before, audit.snapshot(row, SETTINGS_FIELDS))
    if new:
        audit.record(actor, "update", row, before=old, after=new, merchant=row.merchant, node=None)
    return row


# ---- stores ------------------------------------------------------------------------------------------


def store_status(store) -> PrepaidStoreStatus | None:
    return PrepaidStoreStatus.objects.filter(store_id=_pk(store)).first()


@transaction.atomic
def set_store_status(actor, store, *, major_risk, note="", closes_on=None) -> PrepaidStoreStatus:
    """Flag a store as a major risk and/or record its closure date; either stops its new top-ups."""
    if actor is not None:
        require_node_in_scope(actor, store)
    if not store.is_store:
        raise ValidationFailed({"store": [_("Only a store can be flagged.")]})
    row, created = PrepaidStoreStatus.objects.select_for_update().get_or_create(
        store=store, defaults={"merchant_id": store.merchant_id}
    )
    fields = ("major_risk", "note", "closes_on")
    before = {} if created else audit.snapshot(row, fields)
    row.major_risk, row.note, row.closes_on = bool(major_risk), (note or "").strip()[:200], closes_on
    row.updated_by = actor if actor is not None and actor.pk else None
    row.save()
    old, new = audit.diff(before, audit.snapshot(row, fields))
    if new:
        audit.record(actor, "create" if created else "update", row, before=old or None, after=new)
    return row


def store_refusal(store, today=None) -> StoreMajorRisk | None:
    """The store_major_risk refusal when the store may take no new top-ups (flagged, or closed), else None."""
    row = store_status(store)
    if row is None:
        return None
    if row.major_risk:
        return StoreMajorRisk(
            _(
                "This store is flagged as a major risk: it takes no new top-ups. Charges and refunds still work."
            ),
            extra={"store": row.store_id},
        )
    today = today or shanghai_today()
    if row.closes_on is not None and today >= row.closes_on:
        return StoreMajorRisk(
            _("This store closes on %(date)s: it takes no new top-ups. Charges and refunds still work.")
            % {"date": row.closes_on.isoformat()},
            extra={"store": row.store_id, "closes_on": row.closes_on.isoformat()},
        )
    return None


# ---- agreements --------------------------------------------------------------------------------------


def current_agreement(merchant) -> AgreementVersion | None:
    """The merchant's latest published top-up agreement (None before the first)."""
    return AgreementVersion.objects.filter(merchant_id=_pk(merchant)).order_by("-version").first()


@transaction.atomic
def publish_agreement(actor, merchant, text) -> AgreementVersion:
    """Publish a new version of the merchant's top-up agreement (储值协议); members must accept it again."""
    require_merchant_wide_scope(actor, merchant)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed({"text": [_("The agreement needs a text.")]})
    if len(text) > MAX_AGREEMENT_CHARS:
        raise ValidationFailed({"text": [_("The agreement is too long.")]})
    # The settings row serialises publishers of one merchant; the unique constraint is the last guard.
    PrepaidSettings.objects.select_for_update().filter(pk=prepaid_settings(merchant).pk).first()
    last = AgreementVersion.objects.filter(merchant_id=_pk(merchant)).order_by("-version").first()
    version = AgreementVersion.objects.create(
        merchant_id=_pk(merchant),
        version=(last.version + 1) if last else 1,
        text=text,
        published_by=actor if actor is not None and actor.pk else None,
    )
    audit.record(actor, "create", version, after={"version": version.version}, merchant=version.merchant)
    return version


def void_clauses(text) -> list[str]:
    """ "概不退款"-style phrases in an agreement text: such clauses are void (CHINA-RULES); the page warns."""
    return [phrase for phrase in ("概不退款", "不予退款", "恕不退款", "不退不换") if phrase in (text or "")]


def _same_merchant(actor, merchant_id) -> bool:
    """True for the system (no actor), a superuser without a node, or staff of that merchant."""
    if actor is None or not actor.pk or actor.sees_everything:
        return True
    return actor.merchant is not None and actor.merchant.pk == merchant_id


def accepted_version(member, version) -> AgreementAcceptance | None:
    return AgreementAcceptance.objects.filter(member_id=_pk(member), version=version).first()


def needs_acceptance(member) -> AgreementVersion | None:
    """The current agreement when the member must still accept it before a top-up, else None."""
    if member is None:
        return None
    if not settings_for(member.merchant_id).agreement_required:
        return None
    version = current_agreement(member.merchant_id)
    if version is None or accepted_version(member, version) is not None:
        return None
    return version


@transaction.atomic
def accept_agreement(actor, member, *, channel) -> AgreementAcceptance:
    """Record that `member` accepted the current agreement (via `channel`, witnessed by `actor`).

    Accepting again the version already accepted returns the first record unchanged.
    """
    if channel not in AcceptanceChannel.values:
        raise ValidationFailed({"channel": [_("Choose how the member accepted.")]})
    if not _same_merchant(actor, member.merchant_id):
        raise PermissionDenied(_("This member belongs to another merchant."))
    version = current_agreement(member.merchant_id)
    if version is None:
        raise NoAgreementPublished(extra={"merchant": member.merchant_id})
    existing = accepted_version(member, version)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            row = AgreementAcceptance.objects.create(
                member=member,
                version=version,
                channel=channel,
                staff=actor if actor is not None and actor.pk else None,
            )
    except IntegrityError:  # a double click accepted it a moment ago
        return accepted_version(member, version)
    audit.record(
        actor,
        "create",
        row,
        after={"member": member.pk, "version": version.version, "channel": channel},
        merchant=member.merchant,
        node=member.home_store,
    )
    return row


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
                message % {"limit": _yuan(limit)}, extra={"limit": limit, "requested": amount}
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
        from onecard.loyalty.stored_value.services import (
            CashRefundTooLarge,  # stored_value may import this module
        )

        raise CashRefundTooLarge(
            _("Refunds above %(limit)s are paid to a bank account in the holder's name, not in cash.")
            % {"limit": _yuan(limit)},
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
    principal_paid: int = 0
    bonus_granted: int = 0
    value_used: int = 0
    list_value_used: int = 0
    principal_used: int = 0
    first_topup_at: datetime.datetime | None = None
    ever_used: bool = False


def _history(card_ids) -> _History:
    rows = CardTransaction.objects.filter(card_id__in=card_ids).select_related("original").order_by("pk")
    h = _History()
    for tx in rows:
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
        _("Principal paid in: %(amount)s") % {"amount": _yuan(p)},
        _("Bonus granted: %(amount)s") % {"amount": _yuan(b)},
        _("Used (as charged): %(amount)s") % {"amount": _yuan(h.value_used)},
        _("Left on the card: %(amount)s") % {"amount": _yuan(remaining)},
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
            % {"p": _yuan(p), "left": _yuan(remaining), "total": _yuan(p + b), "refund": _yuan(refundable)}
        )
    elif pricing == RefundPricing.AS_CHARGED:
        refundable = max(0, p - h.principal_used)
        lines.append(_("The member asks; our agreement prices used value as charged."))
        lines.append(
            _("Refund = %(p)s − principal used %(used)s = %(refund)s")
            % {"p": _yuan(p), "used": _yuan(h.principal_used), "refund": _yuan(refundable)}
        )
    else:
        refundable = max(0, p - h.list_value_used)
        lines.append(_("The member asks: used value is priced before discount."))
        lines.append(
            _("Refund = %(p)s − used at list price %(used)s = %(refund)s")
            % {"p": _yuan(p), "used": _yuan(h.list_value_used), "refund": _yuan(refundable)}
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
    today = shanghai_today(now)
    q = (today.month - 1) // 3 + 1
    return f"{today.year - 1}Q4" if q == 1 else f"{today.year}Q{q - 1}"


def outstanding_principal(merchant, end) -> int:
    """Prepaid principal the merchant owed at instant `end`: principal postings before it + open holds' principal."""
    posted = Posting.objects.filter(
        account__merchant_id=_pk(merchant),
        account__kind=AccountKind.MEMBER_PRINCIPAL,
        entry__created_at__lt=end,
    ).aggregate(total=Sum("amount"))["total"]
    held = CardTransaction.objects.filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=end),
        card__merchant_id=_pk(merchant),
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
        merchant_id=_pk(merchant),
        quarter=f"{year}Q{q}",
        period_end=last_day,
        outstanding_principal=outstanding,
        custodied=custodied,
        alert_ratio=alert_ratio,
        required=required,
        ratio=ratio,
        alert=outstanding > 0 and Decimal(custodied) < Decimal(outstanding) * alert_ratio,
    )
