"""Points rules (L4): the merchant's policy, expiry dates, earn rules and the cash value of points.

Rounding, documented per rule (ARCHITECTURE.md): points earned for a spend are rounded DOWN to
whole points (floor) after every multiplier; points are worth cash rounded DOWN to whole fen; the
points needed for an amount of cash are rounded UP; a percentage cap per bill is rounded DOWN to
whole fen. Earn rules do not add up: the matching rule of highest priority applies.
"""

import datetime
import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.db.backends import signals as signals_db
from django.db.models import signals
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.loyalty.models.points import ExpiryMode, PointsEarnRule, PointsPolicy
from onecard.loyalty.points.errors import InvalidPoints, PointsRateMissing
from onecard.loyalty.tiers.services import member_tier

LOCAL = ZoneInfo("Asia/Shanghai")
MAX_POINTS = 10**12


def check_points(points, *, signed=False):
    valid = type(points) is int and 0 < (abs(points) if signed else points) <= MAX_POINTS
    if not valid:
        raise InvalidPoints(extra={"points": str(points)})


@dataclass(frozen=True)
class EarnQuote:
    """What a spend earns: whole points, the rule that applied and a human explanation, step by step."""

    points: int
    rule: PointsEarnRule
    explanation: list[str]


# ---- policy, expiry dates and earn rules --------------------------------------------------------------------


# Earn rules and points policies are read on every charge and change a few times a year. Each
# process keeps them for RULES_CACHE_SECONDS; a save or delete in this process clears its copy
# at once (the signal receivers below), other processes see it within that time.
RULES_CACHE_SECONDS = 10.0
_rules_cache: dict = {}


def _cached(key, load):
    now = time.monotonic()
    hit = _rules_cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    _rules_cache[key] = (now + RULES_CACHE_SECONDS, value)
    return value


def forget_cached_rules(**_kwargs):
    """Signal receiver: drop this process's cached rules and policies (a rule or policy changed)."""
    _rules_cache.clear()


for _model in (PointsEarnRule, PointsPolicy):
    signals.post_save.connect(
        forget_cached_rules, sender=_model, dispatch_uid=f"forget_rules_{_model.__name__}"
    )
    signals.post_delete.connect(
        forget_cached_rules, sender=_model, dispatch_uid=f"forget_del_{_model.__name__}"
    )
signals.m2m_changed.connect(
    forget_cached_rules, sender=PointsEarnRule.stores.through, dispatch_uid="forget_rules_stores"
)
# A rolled-back transaction may have filled the cache with rows that never existed.
signals_db.connection_created.connect(forget_cached_rules, dispatch_uid="forget_rules_on_connect")


def policy_for(merchant) -> PointsPolicy:
    """The merchant's PointsPolicy; the defaults (365 days, 100 points = ¥1, no cap) when it has none."""
    merchant_id = getattr(merchant, "pk", merchant)
    return _cached(
        ("policy", merchant_id),
        lambda: (
            PointsPolicy.objects.filter(merchant_id=merchant_id).first()
            or PointsPolicy(merchant_id=merchant_id)
        ),
    )


def expiry_for(policy, earned_at) -> datetime.datetime:
    """When points earned at `earned_at` expire: N days later, or midnight (Asia/Shanghai) after the month/year ends."""
    if policy.expiry_mode == ExpiryMode.DAYS:
        return earned_at + datetime.timedelta(days=policy.expiry_days)
    local = earned_at.astimezone(LOCAL)
    if policy.expiry_mode == ExpiryMode.MONTH_END:
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    else:
        year, month = local.year + 1, 1
    return datetime.datetime(year, month, 1, tzinfo=LOCAL)


def is_birthday(member, day) -> bool:
    """True when `day` is the member's birthday; a 29 February birthday counts on 28 February in other years."""
    if member is None or member.birthday is None:
        return False
    birthday = member.birthday
    if (birthday.month, birthday.day) == (2, 29) and not _leap(day.year):
        return (day.month, day.day) == (2, 28)
    return (day.month, day.day) == (birthday.month, birthday.day)


def _leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def matching_rule(merchant, store, at) -> PointsEarnRule | None:
    """The active rule of highest priority (then lowest id) whose store, weekday and dates match."""
    day = at.astimezone(LOCAL).date()
    weekday = str(day.isoweekday())
    merchant_id = getattr(merchant, "pk", merchant)
    for rule, store_ids in _cached(("rules", merchant_id), lambda: _active_rules(merchant_id)):
        if rule.valid_from and day < rule.valid_from or rule.valid_until and day > rule.valid_until:
            continue
        if rule.weekdays and weekday not in rule.weekdays:
            continue
        if store_ids and getattr(store, "pk", store) not in store_ids:
            continue
        return rule
    return None


def _active_rules(merchant_id):
    """[(rule, {store ids})] of the merchant's active earn rules, highest priority (then lowest id) first."""
    rules = PointsEarnRule.objects.filter(merchant_id=merchant_id, is_active=True)
    return [
        (rule, {s.pk for s in rule.stores.all()})
        for rule in rules.order_by("-priority", "id").prefetch_related("stores")
    ]


def points_for_spend(card, amount_fen, *, store, at=None, known=None) -> EarnQuote:
    """floor(amount in yuan × rule's points per ¥1 × tier multiplier × birthday multiplier), with the steps.

    `known`: the member's (tier, birthday) when the caller has read them already (a charge's locking
    read), else they are read here. The birthday multiplier applies when `at` (Asia/Shanghai) is
    the member's birthday. Refused
    with points_rate_missing when no rule matches, invalid_amount for a non-positive amount.
    """
    if type(amount_fen) is not int or amount_fen <= 0:
        raise InvalidPoints(_("The amount must be a whole number of fen above zero."), code="invalid_amount")
    at = at or timezone.now()
    rule = matching_rule(card.merchant_id, store, at)
    if rule is None:
        raise PointsRateMissing(extra={"store": getattr(store, "pk", store)})
    yuan = Decimal(amount_fen) / 100
    raw = yuan * rule.points_per_yuan
    steps = [
        _("Rule “%(rule)s”: ¥%(yuan)s × %(rate)s points per ¥1 = %(raw)s")
        % {"rule": rule.name, "yuan": f"{yuan:.2f}", "rate": rule.points_per_yuan.normalize(), "raw": raw}
    ]
    if known is not None:
        tier, birthday = known
        member = SimpleNamespace(birthday=birthday) if card.member_id else None
    else:
        member = card.member if card.member_id else None
        tier = member_tier(member) if member is not None else None
    if tier is not None and tier.points_multiplier != 1:
        raw *= tier.points_multiplier
        steps.append(
            _("Tier %(tier)s: × %(m)s = %(raw)s")
            % {"tier": tier.name, "m": tier.points_multiplier, "raw": raw}
        )
    if rule.birthday_multiplier != 1 and is_birthday(member, at.astimezone(LOCAL).date()):
        raw *= rule.birthday_multiplier
        steps.append(_("Birthday: × %(m)s = %(raw)s") % {"m": rule.birthday_multiplier, "raw": raw})
    points = int(raw.to_integral_value(rounding=ROUND_FLOOR))
    steps.append(_("Rounded down to whole points: %(points)s") % {"points": points})
    return EarnQuote(points=points, rule=rule, explanation=steps)


# ---- cash value of points ---------------------------------------------------------------------------------


def points_to_cash(merchant, points) -> int:
    """What `points` are worth in fen at the merchant's rate, rounded down to whole fen."""
    rate = policy_for(merchant).points_per_yuan
    return int((Decimal(points) * 100 / rate).to_integral_value(rounding=ROUND_FLOOR))


def cash_to_points(merchant, fen) -> int:
    """The points needed to pay `fen`, rounded up (the member never gets more than the points are worth)."""
    rate = policy_for(merchant).points_per_yuan
    return int((Decimal(fen) * rate / 100).to_integral_value(rounding=ROUND_CEILING))


def bill_cap(policy, bill_amount_fen) -> int:
    """The most of a bill that points may pay, in fen: the bill, at most cap_percent % (floor) and cap_fen."""
    cap = bill_amount_fen
    if policy.cap_percent is not None:
        cap = min(
            cap, int((Decimal(bill_amount_fen) * policy.cap_percent / 100).to_integral_value(ROUND_FLOOR))
        )
    if policy.cap_fen is not None:
        cap = min(cap, policy.cap_fen)
    return max(cap, 0)
