"""Count and period cards (次卡 / 期限卡): define packages, sell them to cards, use, refund, expire.

A package is N uses per service line, or unlimited use for a number of days; its price sits in the
card's MEMBER_PACKAGE account and each use recognises a share as revenue. The ledger entries,
clearing and rounding are in docs/money.md (Count and period cards).
"""

import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core import audit
from onecard.core.batches import rows_in_pk_batches
from onecard.core.errors import BusinessError, ValidationFailed, refuse_unknown_fields
from onecard.core.idempotency import current_idempotency_key
from onecard.core.money import MAX_AMOUNT
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.cards.errors import CardNotAccepted
from onecard.loyalty.cards.products import require_merchant_wide_scope
from onecard.loyalty.cards.services import lock_cards, status_error
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.card_entries import post_entry, store_account
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.clearing import clearing_legs
from onecard.loyalty.models import Account, Card
from onecard.loyalty.models.packages import (
    MemberPackage,
    MemberPackageLine,
    PackageUse,
    ServicePackage,
    ServicePackageLine,
)
from onecard.loyalty.packages.choices import MemberPackageStatus, PackageKind
from onecard.loyalty.packages.errors import (
    InvalidTender,
    InvalidUseCount,
    PackageClosed,
    PackageDailyCapReached,
    PackageError,  # noqa: F401 (callers catch any package refusal as services.PackageError)
    PackageExpired,
    PackageNotAccepted,
    PackageNotFound,
    PackageNotOnSale,
    PackageServiceUnknown,
    PackageUsedUp,
)
from onecard.loyalty.stored_value import prepaid_rules
from onecard.loyalty.stored_value.card_checks import current_card, require_active
from onecard.loyalty.stored_value.refunds import REFUND_TENDERS

SHANGHAI = ZoneInfo("Asia/Shanghai")
SALE_TENDERS = ("cash", "bank_card", "wechat", "alipay")
MAX_USES_PER_CALL = 100
MAX_LINES = 20
MAX_VALIDITY_DAYS = 3660
DEFINITION_FIELDS = ("name", "kind", "price", "validity_days", "daily_cap", "is_active")
REFUNDABLE_CARD_STATUSES = (CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.EXPIRED, CardStatus.CANCELLED)


# ---- dates -------------------------------------------------------------------------------------------


def local_date(at) -> datetime.date:
    """The calendar day of `at` in Asia/Shanghai."""
    return at.astimezone(SHANGHAI).date()


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day` in Asia/Shanghai (an aware datetime)."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=SHANGHAI)


def valid_until_for(start, days) -> datetime.datetime | None:
    """The end of validity of a package sold at `start` for `days` days: the start of day start+days.

    Bought on 1 November for 30 days: usable through 30 November, expired from 1 December 00:00.
    """
    if not days:
        return None
    return day_start(local_date(start) + datetime.timedelta(days=days))


def elapsed_days(member_package, at) -> int:
    """Whole days from the day of the sale to the day of `at` (Asia/Shanghai), within 0..total_days."""
    days = (local_date(at) - local_date(member_package.valid_from)).days
    return max(0, min(member_package.total_days, days))


def is_expired(member_package, at) -> bool:
    return member_package.valid_until is not None and at >= member_package.valid_until


# ---- definitions ---------------------------------------------------------------------------------------


def _clean_lines(kind, lines) -> list[tuple[str, int | None]]:
    """[(service, uses)]: services named once each; count lines have 1..10,000 uses, period lines none."""
    try:
        pairs = [(str(service or "").strip(), uses) for service, uses in lines]
    except (TypeError, ValueError):
        raise ValidationFailed({"lines": [_("Give a list of (service, uses) pairs.")]}) from None
    errors = []
    if not pairs:
        errors.append(_("A package has at least one service."))
    if len(pairs) > MAX_LINES:
        errors.append(_("A package has at most 20 services."))
    if any(not service or len(service) > 40 for service, _uses in pairs):
        errors.append(_("Each service has a name of at most 40 characters."))
    if len({service for service, _uses in pairs}) != len(pairs):
        errors.append(_("Each service appears once."))
    if kind == PackageKind.COUNT and any(type(u) is not int or not 0 < u <= 10_000 for _s, u in pairs):
        errors.append(_("Each service of a count card has 1 to 10,000 uses."))
    if errors:
        raise ValidationFailed({"lines": errors})
    return [(service, uses if kind == PackageKind.COUNT else None) for service, uses in pairs]


def _clean_definition(merchant_id, data, stores) -> None:
    errors = {}
    if data.get("kind") not in PackageKind.values:
        errors["kind"] = [_("Choose a count card or a period card.")]
    if not (data.get("name") or "").strip():
        errors["name"] = [_("A name is required.")]
    price = data.get("price")
    if type(price) is not int or not 0 < price <= MAX_AMOUNT:
        errors["price"] = [_("A whole number of fen above zero.")]
    days = data.get("validity_days")
    if days is not None and (type(days) is not int or not 0 < days <= MAX_VALIDITY_DAYS):
        errors["validity_days"] = [_("From 1 to 3,660 days.")]
    elif days is None and data.get("kind") == PackageKind.PERIOD:
        errors["validity_days"] = [_("A period card needs its number of days.")]
    cap = data.get("daily_cap")
    if cap is not None and (type(cap) is not int or not 0 < cap <= MAX_USES_PER_CALL):
        errors["daily_cap"] = [_("From 1 to 100 uses a day, or empty for no limit.")]
    if stores and any(node.merchant_id != merchant_id or not node.is_store for node in stores):
        errors["stores"] = [_("Only stores of this merchant.")]
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def create_package(actor, merchant, *, name, kind, price, lines, validity_days=None, daily_cap=None,
                   stores=(), is_active=True) -> ServicePackage:  # fmt: skip
    """A new package definition (merchant-wide configuration, changed from head office), audited."""
    require_merchant_wide_scope(actor, merchant)
    data = {"name": (name or "").strip()[:60], "kind": kind, "price": price, "validity_days": validity_days,
            "daily_cap": daily_cap, "is_active": is_active}  # fmt: skip
    stores = list(stores)
    _clean_definition(merchant.pk, data, stores)
    clean = _clean_lines(kind, lines)
    if ServicePackage.objects.filter(merchant=merchant, name=data["name"]).exists():
        raise ValidationFailed({"name": [_("A package with this name exists.")]})
    package = ServicePackage.objects.create(merchant=merchant, **data)
    ServicePackageLine.objects.bulk_create(
        [ServicePackageLine(package=package, service=service, uses=uses) for service, uses in clean]
    )
    if stores:
        package.stores.set(stores)
    after = {**audit.snapshot(package, DEFINITION_FIELDS), "lines": clean, "stores": [s.pk for s in stores]}
    audit.record(actor, "create", package, after=after, merchant=merchant)
    return package


@transaction.atomic
def update_package(actor, package, *, lines=None, stores=None, **changes) -> ServicePackage:
    """Change a definition; packages already sold keep the copy they were sold with."""
    package = ServicePackage.objects.select_for_update().select_related("merchant").get(pk=package.pk)
    require_merchant_wide_scope(actor, package.merchant)
    refuse_unknown_fields(changes, DEFINITION_FIELDS)
    if "kind" in changes and changes["kind"] != package.kind and package.sold.exists():
        raise ValidationFailed({"kind": [_("The kind cannot change once the package is sold.")]})
    before = audit.snapshot(package, DEFINITION_FIELDS)
    before["lines"] = [[line.service, line.uses] for line in package.lines.all()]
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()[:60]
    data = {**audit.snapshot(package, DEFINITION_FIELDS), **changes}
    _clean_definition(package.merchant_id, data, list(stores) if stores is not None else [])
    clean = _clean_lines(data["kind"], lines if lines is not None else before["lines"])
    if (
        data["name"] != package.name
        and ServicePackage.objects.filter(merchant_id=package.merchant_id, name=data["name"]).exists()
    ):
        raise ValidationFailed({"name": [_("A package with this name exists.")]})
    for name, value in changes.items():
        setattr(package, name, value)
    package.save()
    package.lines.all().delete()
    ServicePackageLine.objects.bulk_create(
        [ServicePackageLine(package=package, service=service, uses=uses) for service, uses in clean]
    )
    if stores is not None:
        package.stores.set(stores)
    after = {**audit.snapshot(package, DEFINITION_FIELDS), "lines": [list(pair) for pair in clean]}
    b, a = audit.diff(before, after)
    audit.record(actor, "update", package, before=b, after=a, merchant=package.merchant)
    return package


def deactivate_package(actor, package) -> ServicePackage:
    """Take a package off sale; the packages already sold keep working."""
    return update_package(actor, package, is_active=False)


# ---- sale ------------------------------------------------------------------------------------------------


def package_account(card) -> Account:
    """The card's member_package account (one per card; see the module docstring)."""
    return ledger.open_account(AccountKind.MEMBER_PACKAGE, card.merchant_id, card_id=card.pk)


def _lock_usable_card(card, store) -> Card:
    """Lock the card's row, check it works now and at `store` (status, expiry, product store list)."""
    card = lock_cards(card)[card.pk]
    if store.merchant_id != card.merchant_id or not card.product.accepts_store(store):
        raise CardNotAccepted(extra={"card": card.number})
    require_active(card)
    return card


@transaction.atomic
def sell_package(actor, card, package, *, store, tender="cash", at=None, business_ref="") -> MemberPackage:
    """Sell a package to a card: its price from the store's cash into the card's package account; one entry."""
    at = at or timezone.now()
    if tender not in SALE_TENDERS:
        raise InvalidTender(extra={"tender": str(tender)[:20]})
    card = _lock_usable_card(card, store)
    package = ServicePackage.objects.filter(
        pk=getattr(package, "pk", package), merchant_id=card.merchant_id
    ).first()
    if package is None:
        raise PackageNotFound()
    if not package.is_active:
        raise PackageNotOnSale(extra={"package": package.pk})
    if not package.accepts_store(store):
        raise PackageNotAccepted(extra={"package": package.pk})
    lines = list(package.lines.all())
    legs = [
        (store_account(AccountKind.STORE_CASH, store), -package.price),
        (package_account(card), package.price),
    ]
    entry = post_entry(EntryKind.PACKAGE_SALE, card, store, actor, legs, memo=f"package {package.name} → {card.number}",
                       business_ref=business_ref)  # fmt: skip
    total_uses = sum(line.uses for line in lines) if package.kind == PackageKind.COUNT else None
    sold = MemberPackage.objects.create(
        merchant_id=card.merchant_id, card=card, member_id=card.member_id, package=package, name=package.name,
        kind=package.kind, price=package.price, total_uses=total_uses, daily_cap=package.daily_cap,
        total_days=package.validity_days, valid_from=at, valid_until=valid_until_for(at, package.validity_days),
        store=store, actor=_actor(actor), tender=tender, sale_entry=entry, business_ref=business_ref,
        idempotency_key=entry.idempotency_key,
    )  # fmt: skip
    MemberPackageLine.objects.bulk_create(
        [
            MemberPackageLine(
                member_package=sold, service=line.service, uses_total=line.uses, uses_left=line.uses
            )
            for line in lines
        ]
    )
    return sold


def _actor(actor):
    return actor if actor is not None and actor.pk else None


# ---- use -------------------------------------------------------------------------------------------------


def _lock_package(member_package):
    """Lock the package's card (its current successor), then the package row; both re-read under the locks."""
    card = current_card(member_package.card)
    card = lock_cards(card)[card.pk]
    row = (
        MemberPackage.objects.select_for_update(of=("self",))
        .select_related("package")
        .get(pk=member_package.pk)
    )
    return card, row


def uses_on(member_package, day) -> int:
    """How many uses of the package were made on `day` (Asia/Shanghai)."""
    start = day_start(day)
    total = PackageUse.objects.filter(
        member_package=member_package,
        created_at__gte=start,
        created_at__lt=start + datetime.timedelta(days=1),
    ).aggregate(total=Sum("count"))["total"]
    return total or 0


def recognised_target(member_package, *, uses_done=None, at=None) -> int:
    """What the package has recognised in all once it has `uses_done` uses (count) or at `at` (period)."""
    mp = member_package
    if mp.kind == PackageKind.COUNT:
        return (mp.uses_done if uses_done is None else uses_done) * mp.price // mp.total_uses
    return mp.price * elapsed_days(mp, at) // mp.total_days


@transaction.atomic
def use_package(actor, member_package, service, *, store, count=1, at=None, business_ref="") -> PackageUse:
    """Use a package `count` times for `service`: one use row, and one entry recognising its value when > 0."""
    at = at or timezone.now()
    if type(count) is not int or not 0 < count <= MAX_USES_PER_CALL:
        raise InvalidUseCount(extra={"count": str(count)[:20]})
    card, mp = _lock_package(member_package)
    if store.merchant_id != card.merchant_id or not card.product.accepts_store(store):
        raise CardNotAccepted(extra={"card": card.number})
    require_active(card)
    _require_open(mp, at)
    if not mp.package.accepts_store(store):
        raise PackageNotAccepted(extra={"package": mp.pk})
    line = mp.lines.filter(service=(service or "").strip()).first()
    if line is None:
        raise PackageServiceUnknown(extra={"service": str(service)[:40]})
    if line.uses_left is not None and line.uses_left < count:
        raise PackageUsedUp(extra={"service": line.service, "uses_left": line.uses_left, "requested": count})
    if mp.daily_cap is not None:
        today = uses_on(mp, local_date(at))
        if today + count > mp.daily_cap:
            raise PackageDailyCapReached(extra={"cap": mp.daily_cap, "used_today": today, "requested": count})
    uses_done = mp.uses_done + count
    value = max(0, recognised_target(mp, uses_done=uses_done, at=at) - mp.recognised)
    entry = None
    if value:
        legs = [(package_account(card), -value), (store_account(AccountKind.STORE_REVENUE, store), value)]
        # The selling store holds the price: it owes the store that delivers the service (clearing.py).
        legs += clearing_legs(mp.store, store, value)
        entry = post_entry(EntryKind.PACKAGE_USE, card, store, actor, legs, memo=f"{mp.name}: {line.service} × {count}",
                           business_ref=business_ref, refers_to=mp.sale_entry_id)  # fmt: skip
    if line.uses_left is not None:
        line.uses_left -= count
        line.save(update_fields=["uses_left"])
    mp.uses_done, mp.recognised = uses_done, mp.recognised + value
    fields = ["uses_done", "recognised"]
    if mp.total_uses is not None and mp.uses_done == mp.total_uses:
        mp.status, mp.closed_at = MemberPackageStatus.USED_UP, at
        fields += ["status", "closed_at"]
    mp.save(update_fields=fields)
    return PackageUse.objects.create(
        member_package=mp, line=line, service=line.service, count=count, value=value, store=store,
        actor=_actor(actor), entry=entry, business_ref=business_ref,
        idempotency_key=entry.idempotency_key if entry else _current_key(), created_at=at,
    )  # fmt: skip


def _current_key() -> str:
    """The idempotency key of the surrounding call, "" outside one."""
    return current_idempotency_key() or ""


def _require_open(mp, at):
    if mp.status == MemberPackageStatus.USED_UP:
        raise PackageUsedUp(extra={"package": mp.pk})
    if mp.status == MemberPackageStatus.EXPIRED or (
        mp.status == MemberPackageStatus.ACTIVE and is_expired(mp, at)
    ):
        raise PackageExpired(extra={"package": mp.pk, "valid_until": mp.valid_until.isoformat()})
    if mp.status != MemberPackageStatus.ACTIVE:
        raise PackageClosed(extra={"package": mp.pk, "status": mp.status})


# ---- refund and expiry -------------------------------------------------------------------------------


def refund_quote(member_package, at=None) -> tuple[int, int]:
    """(catch-up recognised, refund paid) if the package were refunded at `at`; see the module docstring."""
    mp, at = member_package, at or timezone.now()
    catch_up = max(0, recognised_target(mp, at=at) - mp.recognised) if mp.kind == PackageKind.PERIOD else 0
    return catch_up, mp.price - mp.recognised - mp.refunded - mp.breakage - catch_up


@transaction.atomic
def refund_package(actor, member_package, *, store, reason, method="bank", at=None,
                   business_ref="") -> MemberPackage:  # fmt: skip
    """退款: pay out the unused part (count: unused uses' share; period: unexpired days'); closes the package.

    `method`: bank, cash or original; cash is refused above the merchant's cash-refund limit
    (CHINA-RULES, prepaid_rules.check_cash_refund). Works on a frozen,
    expired or cancelled card (the money is the holder's), not on a lost one.
    """
    at = at or timezone.now()
    if method not in REFUND_TENDERS:
        raise BusinessError(code="invalid_refund_method", extra={"method": str(method)[:20]})
    if not (reason or "").strip():
        raise ValidationFailed({"reason": [_("Give the reason for the refund.")]})
    card, mp = _lock_package(member_package)
    if store.merchant_id != card.merchant_id:
        raise CardNotAccepted(extra={"card": card.number})
    if card.status not in REFUNDABLE_CARD_STATUSES:
        raise status_error(card)
    _require_open(mp, at)
    catch_up, refund = refund_quote(mp, at)
    prepaid_rules.check_cash_refund(card.merchant_id, refund, method)
    legs = [
        (package_account(card), -(catch_up + refund)),
        (store_account(AccountKind.STORE_CASH, store), refund),
    ]
    # The payout leaves `store`'s cash; the selling store holds the price and owes it back.
    legs += clearing_legs(mp.store, store, refund)
    if catch_up:
        legs.append((store_account(AccountKind.STORE_REVENUE, mp.store), catch_up))
    entry = post_entry(EntryKind.PACKAGE_REFUND, card, store, actor, legs,
                       memo=f"refund of package #{mp.pk}: {reason.strip()}", business_ref=business_ref,
                       refers_to=mp.sale_entry_id)  # fmt: skip
    mp.recognised += catch_up
    mp.refunded, mp.status, mp.closed_at, mp.close_entry = refund, MemberPackageStatus.REFUNDED, at, entry
    mp.refund_method, mp.reason = method, reason.strip()[:200]
    mp.save(
        update_fields=[
            "recognised",
            "refunded",
            "status",
            "closed_at",
            "close_entry",
            "refund_method",
            "reason",
        ]
    )
    return mp


def expire_packages(now=None, *, batch=200) -> int:
    """The daily job: active packages past `valid_until` recognise what is left (breakage), one entry each.

    One transaction per package; the status is re-checked under the locks, so running twice (or
    alongside a use or a refund) changes nothing more.
    """
    now = now or timezone.now()
    count = 0
    due = MemberPackage.objects.filter(status=MemberPackageStatus.ACTIVE, valid_until__lte=now)
    for row in rows_in_pk_batches(due.select_related("card"), batch):
        with transaction.atomic():
            card, mp = _lock_package(row)
            if mp.status == MemberPackageStatus.ACTIVE and is_expired(mp, now):
                _expire(card, mp, now)
                count += 1
    return count


def _expire(card, mp, now):
    rest = mp.outstanding
    entry = None
    if rest:
        legs = [(package_account(card), -rest), (store_account(AccountKind.STORE_REVENUE, mp.store), rest)]
        entry = post_entry(EntryKind.PACKAGE_EXPIRE, card, mp.store, None, legs, memo=f"package #{mp.pk} expired",
                           refers_to=mp.sale_entry_id)  # fmt: skip
    mp.breakage, mp.status, mp.closed_at, mp.close_entry = rest, MemberPackageStatus.EXPIRED, now, entry
    mp.save(update_fields=["breakage", "status", "closed_at", "close_entry"])


# ---- cards replaced or merged, reads -----------------------------------------------------------------


def move_packages_with_card(sender, *, source, target, **kwargs):
    """cards.card_balances_moved: the package balance moved to `target`'s account, so its packages follow."""
    MemberPackage.objects.filter(card_id=source.pk).update(card_id=target.pk)


def card_packages(card, *, include_closed=False):
    """The card's packages, newest first, with their lines (open ones only unless `include_closed`)."""
    rows = MemberPackage.objects.filter(card=card).prefetch_related("lines").select_related("package")
    if not include_closed:
        rows = rows.filter(status=MemberPackageStatus.ACTIVE)
    return rows.order_by("-id")


def member_packages(member):
    """Every package of the member's cards (and any sold while a card was theirs), newest first."""
    rows = MemberPackage.objects.filter(Q(member=member) | Q(card__member=member)).distinct()
    return rows.select_related("card", "store").prefetch_related("lines").order_by("-id")


def check_package_balances(merchant=None) -> list[dict]:
    """Cards whose member_package balance differs from the sum of their open packages' outstanding fen.

    Empty when the per-package bookkeeping and the ledger agree (tests and `ledger verify` users).
    """
    accounts = Account.objects.filter(kind=AccountKind.MEMBER_PACKAGE)
    if merchant is not None:
        accounts = accounts.filter(merchant=merchant)
    problems = []
    for card_id, balance in accounts.values_list("card_id", "balance"):
        open_rows = MemberPackage.objects.filter(card_id=card_id, status=MemberPackageStatus.ACTIVE)
        expected = sum(row.outstanding for row in open_rows)
        if expected != balance:
            problems.append({"card": card_id, "balance": balance, "expected": expected})
    return problems
