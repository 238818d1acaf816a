"""Member tiers (会员等级, L1): define tiers and their rules, evaluate members, record why a tier changed.

A member's tier is a `MemberTier` row (one per member, so one per member and merchant). The
evaluation job reads per-member figures from a `metrics_provider(member_ids, metric, since)` →
{member_id: value} that the ledger work supplies (spend and top-ups in fen, points, visits), so
this module does not know how sales are stored.

Rules: a member qualifies for a tier when ANY of its rules is met; a tier without rules is an entry
tier everybody qualifies for. Upgrades happen at once. Downgrades are periodic: when a tier's
review date comes and the member no longer qualifies, a grace period starts; still short at its end,
the member moves down to the best tier they do qualify for (never below the lowest tier). Every
decision depends only on the stored state and the figures, so running twice on one day with the
same figures changes nothing more.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import ValidationFailed, refuse_unknown_fields
from onecard.core.scoping import require_node_in_scope
from onecard.loyalty.cards.choices import TierChangeKind, TierMetric
from onecard.loyalty.cards.products import require_merchant_wide_scope
from onecard.loyalty.models import Card, MemberTier, Tier, TierChange, TierRule
from onecard.loyalty.tiers import reasons
from onecard.members.choices import MemberStatus
from onecard.members.models import Member

CHUNK = 2000
TIER_FIELDS = ("name", "rank", "discount_rate", "points_multiplier", "benefits", "review_period_days",
               "grace_days", "is_active")  # fmt: skip
# ---- defining tiers ---------------------------------------------------------------------------------------


def _clean_tier(data, rules):
    errors = {}
    for name, low in (("discount_rate", Decimal(0)), ("points_multiplier", Decimal(0))):
        value = data.get(name)
        if not isinstance(value, Decimal) or value <= low:
            errors[name] = [_("A decimal number above zero (no floats).")]
    if isinstance(data.get("discount_rate"), Decimal) and data["discount_rate"] > 1:
        errors["discount_rate"] = [_("At most 1 (no discount); 0.95 is 95折.")]
    if not (data.get("name") or "").strip():
        errors["name"] = [_("A name is required.")]
    for metric, threshold, window_days in rules:
        if (
            metric not in TierMetric.values
            or type(threshold) is not int
            or threshold <= 0
            or window_days <= 0
        ):
            errors["rules"] = [_("Each rule has a metric, a threshold above zero and a window in days.")]
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def create_tier(actor, merchant, *, name, rank, discount_rate=Decimal(1), points_multiplier=Decimal(1),
                benefits="", review_period_days=None, grace_days=0, rules=()) -> Tier:  # fmt: skip
    """A new tier; `rules` is a list of (metric, threshold, window_days); none makes it an entry tier."""
    require_merchant_wide_scope(actor, merchant)
    data = {"name": name, "rank": rank, "discount_rate": discount_rate, "points_multiplier": points_multiplier,
            "benefits": benefits, "review_period_days": review_period_days, "grace_days": grace_days}  # fmt: skip
    _clean_tier(data, rules)
    if Tier.objects.filter(merchant=merchant, rank=rank).exists():
        raise ValidationFailed({"rank": [_("Another tier has this rank.")]})
    tier = Tier.objects.create(merchant=merchant, **data)
    TierRule.objects.bulk_create(
        TierRule(tier=tier, metric=m, threshold=t, window_days=w) for m, t, w in rules
    )
    after = {**audit.snapshot(tier, TIER_FIELDS), "rules": [list(r) for r in rules]}
    audit.record(actor, "create", tier, after=after, merchant=merchant)
    return tier


@transaction.atomic
def update_tier(actor, tier, *, rules=None, **changes) -> Tier:
    """Change a tier's settings and, with `rules`, replace its rules. Members are re-evaluated by the job."""
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    require_merchant_wide_scope(actor, tier.merchant)
    refuse_unknown_fields(changes, TIER_FIELDS)
    before = audit.snapshot(tier, TIER_FIELDS)
    old_rules = [(r.metric, r.threshold, r.window_days) for r in tier.rules.all()]
    if (
        "rank" in changes
        and Tier.objects.filter(merchant=tier.merchant, rank=changes["rank"]).exclude(pk=tier.pk).exists()
    ):
        raise ValidationFailed({"rank": [_("Another tier has this rank.")]})
    current = {name: getattr(tier, name) for name in TIER_FIELDS}
    _clean_tier({**current, **changes}, rules if rules is not None else old_rules)
    for name, value in changes.items():
        setattr(tier, name, value)
    tier.save()
    if rules is not None:
        tier.rules.all().delete()
        TierRule.objects.bulk_create(
            TierRule(tier=tier, metric=m, threshold=t, window_days=w) for m, t, w in rules
        )
    b, a = audit.diff({**before, "rules": old_rules}, {**audit.snapshot(tier, TIER_FIELDS),
                                                      "rules": rules if rules is not None else old_rules})  # fmt: skip
    audit.record(actor, "update", tier, before=b, after=a, merchant=tier.merchant)
    return tier


def member_tier(member):
    """The member's tier, or None before the first evaluation."""
    state = MemberTier.objects.filter(member=member).select_related("tier").first()
    return state.tier if state else None


def member_tier_name(member):
    """The name of the member's tier for the member page's header, or None before the first evaluation."""
    tier = member_tier(member)
    return tier.name if tier is not None else None


def _review_on(tier, day):
    return day + datetime.timedelta(days=tier.review_period_days) if tier.review_period_days else None


@transaction.atomic
def set_member_tier(actor, member, tier, *, reason, today=None) -> MemberTier:
    """Staff put a member in a tier by hand (a complaint, a VIP); the review dates restart from today."""
    if actor is not None:
        require_node_in_scope(actor, member.home_store)
    if tier.merchant_id != member.merchant_id:
        raise ValidationFailed({"tier": [_("A tier of the member's merchant.")]})
    if not reason.strip():
        raise ValidationFailed({"reason": [_("Say why.")]})
    today = today or datetime.date.today()
    state = MemberTier.objects.select_for_update().filter(member=member).first()
    from_tier = state.tier if state else None
    values = {"merchant_id": member.merchant_id, "tier": tier, "since": today, "review_on": _review_on(tier, today),
              "grace_until": None}  # fmt: skip
    state, _created = MemberTier.objects.update_or_create(member=member, defaults=values)
    TierChange.objects.create(member=member, merchant_id=member.merchant_id, kind=TierChangeKind.MANUAL,
                              from_tier=from_tier, to_tier=tier, reason=reason[:300], effective_on=today,
                              details={"why": reasons.MANUAL},
                              actor=actor if actor is not None and actor.pk else None)  # fmt: skip
    audit.record(actor, "update", member, before={"tier": from_tier.pk if from_tier else None},
                 after={"tier": tier.pk}, note=f"tier: {reason}"[:300])  # fmt: skip
    return state


def merge_member_tiers(survivor, merged, *, actor=None, today=None):
    """On a member merge the survivor keeps the better of the two tiers."""
    theirs = MemberTier.objects.filter(member=merged).select_related("tier").first()
    if theirs is None:
        return
    ours = (
        MemberTier.objects.select_for_update(of=("self",))
        .filter(member=survivor)
        .select_related("tier")
        .first()
    )
    if ours is not None and ours.tier.rank >= theirs.tier.rank:
        return
    today = today or datetime.date.today()
    values = {"merchant_id": survivor.merchant_id, "tier": theirs.tier, "since": theirs.since,
              "review_on": theirs.review_on, "grace_until": theirs.grace_until}  # fmt: skip
    MemberTier.objects.update_or_create(member=survivor, defaults=values)
    TierChange.objects.create(member=survivor, merchant_id=survivor.merchant_id, kind=TierChangeKind.MERGE,
                              from_tier=ours.tier if ours else None, to_tier=theirs.tier,
                              details={"why": reasons.MERGED, "member_no": merged.member_no,
                                       "tier": theirs.tier.name},
                              effective_on=today, actor=actor if actor is not None and actor.pk else None)  # fmt: skip


# ---- evaluation ---------------------------------------------------------------------------------------------


@dataclass
class TierEvaluation:
    """What one run did: counts and the TierChange rows it wrote."""

    evaluated: int = 0
    upgraded: int = 0
    downgraded: int = 0
    grace_started: int = 0
    renewed: int = 0
    changes: list = field(default_factory=list)


def evaluate_tiers(merchant, metrics_provider, today) -> TierEvaluation:
    """Upgrade, review, grace and downgrade every active member of `merchant` as of `today`.

    `metrics_provider(member_ids, metric, since)` returns {member_id: value} for the days from
    `since` (inclusive) to `today`; members missing from the answer count as 0. One call per
    (metric, window) and chunk of members.
    """
    tiers = list(
        Tier.objects.filter(merchant=merchant, is_active=True).prefetch_related("rules").order_by("-rank")
    )
    result = TierEvaluation()
    if not tiers:
        return result
    windows = sorted({(rule.metric, rule.window_days) for tier in tiers for rule in tier.rules.all()})
    member_ids = list(
        Member.objects.filter(merchant=merchant, status=MemberStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for offset in range(0, len(member_ids), CHUNK):
        chunk = member_ids[offset : offset + CHUNK]
        figures = {
            (metric, days): metrics_provider(chunk, metric, today - datetime.timedelta(days=days))
            for metric, days in windows
        }
        with transaction.atomic():
            _evaluate_chunk(merchant, tiers, chunk, figures, today, result)
    return result


def _qualification(tiers, figures, member_id):
    """(best tier the member qualifies for, the rule met or None, its value); (None, None, 0) if none."""
    for tier in tiers:  # best first
        rules = list(tier.rules.all())
        if not rules:
            return tier, None, 0
        for rule in rules:
            value = figures[(rule.metric, rule.window_days)].get(member_id, 0)
            if value >= rule.threshold:
                return tier, rule, value
    return None, None, 0


def _shortfall(tier, figures, member_id):
    facts = [
        reasons.rule_fact(rule, figures[(rule.metric, rule.window_days)].get(member_id, 0), met=False)
        for rule in tier.rules.all()
    ]
    return {"why": reasons.SHORT, "rules": facts}


def _evaluate_chunk(merchant, tiers, chunk, figures, today, result):
    lowest = tiers[-1]
    by_pk = {tier.pk: tier for tier in tiers}
    states = {s.member_id: s for s in MemberTier.objects.select_for_update().filter(member_id__in=chunk)}
    new_states, changed_states, changes = [], [], []

    def change(member_id, kind, from_tier, to_tier, details, rule=None, value=None):
        changes.append(TierChange(member_id=member_id, merchant=merchant, kind=kind, from_tier_id=from_tier,
                                  to_tier=to_tier, details=details, metric=rule.metric if rule else "",
                                  value=value if rule else None, threshold=rule.threshold if rule else None,
                                  effective_on=today))  # fmt: skip

    for member_id in chunk:
        result.evaluated += 1
        qualified, rule, value = _qualification(tiers, figures, member_id)
        reason = (
            {"why": reasons.RULE_MET, "rules": [reasons.rule_fact(rule, value)]}
            if rule
            else {"why": reasons.ENTRY}
        )
        state = states.get(member_id)
        if state is None:
            if qualified is not None:
                new_states.append(MemberTier(member_id=member_id, merchant=merchant, tier=qualified, since=today,
                                             review_on=_review_on(qualified, today)))  # fmt: skip
                change(member_id, TierChangeKind.UPGRADE, None, qualified, reason, rule, value)
                result.upgraded += 1
            continue
        current = by_pk.get(state.tier_id)
        current_rank = current.rank if current else -1  # a tier switched off counts as below every tier
        if qualified is not None and qualified.rank > current_rank:
            change(member_id, TierChangeKind.UPGRADE, state.tier_id, qualified, reason, rule, value)
            state.tier, state.since, state.review_on, state.grace_until = (
                qualified, today, _review_on(qualified, today), None)  # fmt: skip
            changed_states.append(state)
            result.upgraded += 1
        elif current is None or (state.review_on is not None and today >= state.review_on):
            if qualified is not None and qualified.rank >= current_rank:
                state.review_on, state.grace_until = _review_on(current, today), None
                changed_states.append(state)
                result.renewed += 1
                continue
            if current is not None and state.grace_until is None and current.grace_days:
                state.grace_until = today + datetime.timedelta(days=current.grace_days)
                changed_states.append(state)
                result.grace_started += 1
                continue
            if state.grace_until is not None and today < state.grace_until:
                continue  # in grace: wait
            target = qualified or lowest
            if current is not None and target.pk == current.pk:
                continue
            why = _shortfall(current, figures, member_id) if current else {"why": reasons.TIER_GONE}
            if state.grace_until is not None:
                why["grace_ended"] = state.grace_until.isoformat()
            change(member_id, TierChangeKind.DOWNGRADE, state.tier_id, target, why)
            state.tier, state.since, state.review_on, state.grace_until = (
                target,
                today,
                _review_on(target, today),
                None,
            )
            changed_states.append(state)
            result.downgraded += 1

    now = timezone.now()
    for state in changed_states:
        state.updated_at = now  # bulk_update does not apply auto_now
    MemberTier.objects.bulk_create(new_states)
    MemberTier.objects.bulk_update(
        changed_states, ["tier", "since", "review_on", "grace_until", "updated_at"]
    )
    TierChange.objects.bulk_create(changes)
    result.changes.extend(changes)


# ---- member merge: the cards follow the member -------------------------------------------------------------


def move_cards_of_merged_member(sender, survivor, merged, actor=None, **kwargs):
    """members.signals.member_merged: the merged member's cards (and tier) go to the survivor.

    Runs inside the merge transaction. The cards' accounts are keyed by card, so no money moves.
    """
    cards = Card.objects.filter(member=merged)
    numbers = sorted(cards.values_list("number", flat=True))
    if numbers:
        cards.update(member=survivor)
        audit.record(actor, "transfer", survivor, after={"cards": numbers},
                     note=f"cards of merged member {merged.member_no} moved to {survivor.member_no}")  # fmt: skip
    merge_member_tiers(survivor, merged, actor=actor)
