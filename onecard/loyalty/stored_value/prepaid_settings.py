"""The prepaid-card settings of a merchant (单用途商业预付卡): limits, stores at risk, the top-up agreement.

The refusals they lead to are here too; the checks that use them (top-up, cash refund), refund
pricing and custody are in prepaid_rules.py. The rules are described in docs/money.md.
"""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import PermissionDenied, ValidationFailed
from onecard.core.money import fen_to_yuan_str
from onecard.core.scoping import require_node_in_scope
from onecard.loyalty.cards.products import require_merchant_wide_scope
from onecard.loyalty.models.prepaid import (
    AcceptanceChannel,
    AgreementAcceptance,
    AgreementVersion,
    PrepaidSettings,
    PrepaidStoreStatus,
    RefundPricing,
)
from onecard.loyalty.stored_value.errors import NoAgreementPublished, StoreMajorRisk

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
    "void_window_minutes",
)
MAX_VOID_WINDOW_MINUTES = 1440


def yuan(fen) -> str:
    """Fen as "¥1,234.50" for the refusals' and receipts' wording."""
    return "¥" + fen_to_yuan_str(fen)


def pk_of(value):
    """The primary key of a model instance, or the value itself (an id)."""
    return getattr(value, "pk", value)


def shanghai_today(now=None) -> datetime.date:
    """Today's date in Asia/Shanghai (closure dates and payout dates are local days)."""
    return (now or timezone.now()).astimezone(SHANGHAI).date()


# ---- settings ----------------------------------------------------------------------------------------


def settings_for(merchant) -> PrepaidSettings:
    """The merchant's settings row, or an unsaved one with the CHINA-RULES defaults (never writes)."""
    row = PrepaidSettings.objects.filter(merchant_id=pk_of(merchant)).first()
    return row if row is not None else PrepaidSettings(merchant_id=pk_of(merchant))


def prepaid_settings(merchant) -> PrepaidSettings:
    """The merchant's settings row, created with the defaults the first time it is read."""
    try:
        with transaction.atomic():
            row, _created = PrepaidSettings.objects.get_or_create(merchant_id=pk_of(merchant))
    except IntegrityError:  # a concurrent first read created it
        row = PrepaidSettings.objects.get(merchant_id=pk_of(merchant))
    return row


def _clean_settings(values) -> dict:
    """The settings `values` checked and converted, or validation_error naming each bad field."""
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
    window = values.get("void_window_minutes")
    if window is not None and (type(window) is not int or not 0 <= window <= MAX_VOID_WINDOW_MINUTES):
        errors["void_window_minutes"] = [_("A number of minutes from 0 to 1440.")]
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
    """The store's risk and closure row, None when it was never flagged."""
    return PrepaidStoreStatus.objects.filter(store_id=pk_of(store)).first()


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
    return AgreementVersion.objects.filter(merchant_id=pk_of(merchant)).order_by("-version").first()


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
    last = AgreementVersion.objects.filter(merchant_id=pk_of(merchant)).order_by("-version").first()
    version = AgreementVersion.objects.create(
        merchant_id=pk_of(merchant),
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
    """The member's acceptance of agreement `version`, None when not accepted."""
    return AgreementAcceptance.objects.filter(member_id=pk_of(member), version=version).first()


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
