"""Card management pages under /cards/: products, tiers, rules, batches, the card list and card detail.

Views parse, check the permission, call a service, render. Every write goes through the services
(card_products, tiers, cards, points, stored_value, rule_settings, rebates), so validation, audit and
refusals are theirs: a BusinessError is shown on the page (field errors next to their fields) and
nothing is written. Reads are scoped: cards through `cards.cards_visible_to`, batches by their
store, tier changes by the member's home store; products, tiers and rules are merchant-wide.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.money import fen_to_yuan_str
from onecard.core.permissions import require_perms
from onecard.core.scoping import scope, scope_node_ids
from onecard.loyalty.cards.barcodes import code128_svg, qr_svg
from onecard.loyalty.cards.choices import CardKind
from onecard.loyalty.cards.forms import (
    WEEKDAYS,
    BatchForm,
    BonusRuleForm,
    EarnRuleForm,
    PointsPolicyForm,
    ProductForm,
    RebateRuleForm,
    TierForm,
    yuan,
)
from onecard.loyalty.cards.products import create_product, issue_batch, update_product
from onecard.loyalty.models import (
    Card,
    CardBatch,
    CardProduct,
    PointsEarnRule,
    RebateRule,
    Tier,
    TierChange,
    TopupBonusRule,
)
from onecard.loyalty.models.stored_value import ConsumptionOrder
from onecard.loyalty.points import services as points_service
from onecard.loyalty.stored_value import rebates, rule_settings
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.org.choices import NodeKind
from onecard.org.models import Merchant, OrgNode

WEEKDAY_LABELS = dict(WEEKDAYS)
PAGE_SIZE = 50
SHEET_SIZE = 240  # cards per printed sheet page: 10 A4 pages of 3 × 8
RECENT_TIER_CHANGES = 50

# ---- helpers ---------------------------------------------------------------------------------------------


def managed_merchant(user):
    """The merchant whose cards the user manages (a superuser without a node: the first merchant)."""
    if user.node_id:
        return user.node.merchant
    if user.sees_everything:
        merchant = Merchant.objects.order_by("id").first()
        if merchant is not None:
            return merchant
    raise Http404(_("No merchant to manage."))


def _stores_in_scope(user, merchant):
    stores = OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE, is_active=True)
    ids = scope_node_ids(user)
    return (stores if ids is None else stores.filter(id__in=ids)).order_by("path")


def _merchant_stores(merchant):
    return OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE, is_active=True).order_by("path")


def show_refusal(request, exc, form):
    """A service refusal: field errors next to the fields, anything else above the form."""
    if isinstance(exc, ValidationFailed):
        form.add_service_errors(exc.errors)
    else:
        form.add_error(None, str(exc.message))


def int_or_none(value):
    """A query parameter as an int, or None when it is not a plain number."""
    return int(value) if value and str(value).isdigit() else None


# ---- card products ------------------------------------------------------------------------------------------


@login_required
def product_list(request):
    """Card products of the merchant with their limits and consumption order."""
    require_perms(request.user, "cards.view")
    merchant = managed_merchant(request.user)
    products = (
        CardProduct.objects.filter(merchant=merchant)
        .select_related("stored_value_settings")
        .prefetch_related("stores")
        .annotate(card_count=Count("cards"))
        .order_by("name")
    )
    rows = []
    for product in products:
        settings = getattr(product, "stored_value_settings", None)
        rows.append(
            {
                "product": product,
                "cap": yuan(product.effective_balance_cap),
                "threshold": yuan(product.password_threshold),
                "daily_limit": yuan(product.daily_charge_limit),
                "order": ConsumptionOrder(
                    settings.consumption_order if settings else ConsumptionOrder.PROPORTIONAL
                ).label,
            }
        )
    return render(
        request,
        "loyalty/manage/products.html",
        {"rows": rows, "alliance": merchant.alliance, "tab": "products"},
    )


def _consumption_order(product):
    return stored_value.consumption_order(product) if product is not None else ConsumptionOrder.PROPORTIONAL


@login_required
@require_http_methods(["GET", "POST"])
def product_form(request, pk=None):
    """Create or edit a card product; the consumption order is saved in the same transaction."""
    user = request.user
    require_perms(user, "cards.view", "products.manage")
    merchant = managed_merchant(user)
    product = None
    if pk is not None:
        product = CardProduct.objects.filter(merchant=merchant, pk=pk).first()
        if product is None:
            raise Http404(_("No such card product."))
    stores = _merchant_stores(merchant)
    if request.method == "POST":
        form = ProductForm(request.POST, stores=stores)
        if form.is_valid():
            data = form.product_data()
            try:
                with transaction.atomic():
                    if product is None:
                        product = create_product(user, merchant, **data)
                    else:
                        product = update_product(user, product, **data)
                    if product.kind == CardKind.STORED_VALUE:
                        rule_settings.set_consumption_order(
                            user, product, form.cleaned_data["consumption_order"]
                        )
            except BusinessError as exc:
                product = CardProduct.objects.filter(pk=pk).first() if pk else None
                show_refusal(request, exc, form)
            else:
                messages.success(request, _("Card product “%(name)s” saved.") % {"name": product.name})
                return redirect("cards:products")
    else:
        initial = ProductForm.initial_for(product, _consumption_order(product)) if product else None
        form = ProductForm(initial=initial, stores=stores)
    return render(
        request,
        "loyalty/manage/product_form.html",
        {"form": form, "product": product, "alliance": merchant.alliance, "tab": "products"},
    )


# ---- tiers -------------------------------------------------------------------------------------------------


def _rule_text(rule):
    if rule.metric in ("spend", "topup"):
        threshold = f"¥{fen_to_yuan_str(rule.threshold)}"
    else:
        threshold = f"{rule.threshold:,}"
    return _("%(metric)s ≥ %(threshold)s in %(days)s days") % {
        "metric": rule.get_metric_display(),
        "threshold": threshold,
        "days": rule.window_days,
    }


@login_required
def tier_list(request):
    """Tiers with discount, multiplier, benefits and upgrade rules; the recent tier changes and why."""
    user = request.user
    require_perms(user, "cards.view")
    merchant = managed_merchant(user)
    tier_rows = (
        Tier.objects.filter(merchant=merchant)
        .prefetch_related("rules")
        .annotate(holders_count=Count("holders"))
    )
    rows = [{"tier": t, "rules": [_rule_text(r) for r in t.rules.all()]} for t in tier_rows.order_by("-rank")]
    changes = scope(TierChange.objects.filter(merchant=merchant), user, "member__home_store")
    changes = changes.select_related("member", "from_tier", "to_tier", "actor").order_by("-created_at", "-id")
    return render(
        request,
        "loyalty/manage/tiers.html",
        {"rows": rows, "changes": changes[:RECENT_TIER_CHANGES], "tab": "tiers"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def tier_form(request, pk=None):
    """Create or edit a tier and replace its upgrade rules (tiers.create_tier / update_tier)."""
    user = request.user
    require_perms(user, "cards.view", "products.manage")
    merchant = managed_merchant(user)
    tier = None
    if pk is not None:
        tier = Tier.objects.filter(merchant=merchant, pk=pk).first()
        if tier is None:
            raise Http404(_("No such tier."))
    if request.method == "POST":
        form = TierForm(request.POST)
        if form.is_valid():
            data, rules = form.tier_data(), form.cleaned_data["rules"]
            try:
                if tier is None:
                    active = data.pop("is_active")
                    with transaction.atomic():
                        tier = tiers.create_tier(user, merchant, rules=rules, **data)
                        if not active:
                            tiers.update_tier(user, tier, is_active=False)
                else:
                    tier = tiers.update_tier(user, tier, rules=rules, **data)
            except BusinessError as exc:
                tier = Tier.objects.filter(pk=pk).first() if pk else None
                show_refusal(request, exc, form)
            else:
                messages.success(request, _("Tier “%(name)s” saved.") % {"name": tier.name})
                return redirect("cards:tiers")
    else:
        form = TierForm(initial=TierForm.initial_for(tier) if tier else None)
    return render(request, "loyalty/manage/tier_form.html", {"form": form, "tier": tier, "tab": "tiers"})


# ---- top-up bonus and points rules ---------------------------------------------------------------------------


def _bonus_tiers_text(rule):
    return " / ".join(
        _("top up ¥%(t)s, bonus ¥%(b)s") % {"t": fen_to_yuan_str(int(t)), "b": fen_to_yuan_str(int(b))}
        for t, b in rule.tiers
    )


@login_required
def rule_list(request):
    """Top-up bonus rules, rebate rules, points earn rules and the points policy of the merchant."""
    user = request.user
    require_perms(user, "cards.view")
    merchant = managed_merchant(user)
    bonus = (
        TopupBonusRule.objects.filter(merchant=merchant)
        .select_related("store")
        .order_by("-is_active", "-priority", "-id")
    )
    earn = (
        PointsEarnRule.objects.filter(merchant=merchant)
        .prefetch_related("stores")
        .order_by("-is_active", "-priority", "id")
    )
    rebate = (
        RebateRule.objects.filter(merchant=merchant)
        .select_related("store")
        .order_by("-is_active", "-percent", "-id")
    )
    policy = points_service.policy_for(merchant)
    return render(
        request,
        "loyalty/manage/rules.html",
        {
            "bonus_rules": [{"rule": r, "tiers": _bonus_tiers_text(r)} for r in bonus],
            "rebate_rules": [{"rule": r, "min_amount": yuan(r.min_amount)} for r in rebate],
            "earn_rules": [
                {"rule": r, "weekdays": ", ".join(str(WEEKDAY_LABELS[d]) for d in r.weekdays)} for r in earn
            ],
            "policy": policy,
            "cap_fen": yuan(policy.cap_fen),
            "tab": "rules",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def bonus_rule_create(request):
    """A new top-up bonus rule (stored_value.create_bonus_rule); rules are switched off, not edited."""
    user = request.user
    require_perms(user, "cards.view", "products.manage")
    merchant = managed_merchant(user)
    stores = _stores_in_scope(user, merchant)
    form = BonusRuleForm(request.POST if request.method == "POST" else None, stores=stores)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            stored_value.create_bonus_rule(
                user,
                merchant,
                name=data["name"],
                tiers=data["tiers"],
                store=data["store"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                priority=data["priority"],
            )
        except BusinessError as exc:
            show_refusal(request, exc, form)
        else:
            messages.success(request, _("Top-up bonus rule saved."))
            return redirect("cards:rules")
    return render(request, "loyalty/manage/bonus_rule_form.html", {"form": form, "tab": "rules"})


def _switch_rule(request, pk, model, set_active):
    """POST active=1/0 on a rule of `model` of the user's merchant through `set_active(user, rule, active)`."""
    user = request.user
    require_perms(user, "cards.view", "products.manage")
    rule = model.objects.filter(
        merchant=managed_merchant(user), pk=request.resolver_match.kwargs["pk"]
    ).first()
    if rule is None:
        raise Http404(_("No such rule."))
    try:
        set_active(user, rule, request.POST.get("active") == "1")
    except BusinessError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Rule “%(name)s” updated.") % {"name": rule.name})
    return redirect("cards:rules")


@login_required
@require_POST
def bonus_rule_toggle(request, pk):
    """Switch a top-up bonus rule off (or on again)."""
    return _switch_rule(request, pk, TopupBonusRule, rule_settings.set_bonus_rule_active)


@login_required
@require_http_methods(["GET", "POST"])
def rebate_rule_form(request, pk=None):
    """Create or edit a rebate rule (rebates.create_rebate_rule / update_rebate_rule)."""
    user = request.user
    require_perms(user, "cards.view", "products.manage")
    merchant = managed_merchant(user)
    rule = None
    if pk is not None:
        rule = RebateRule.objects.filter(merchant=merchant, pk=pk).select_related("store").first()
        if rule is None:
            raise Http404(_("No such rule."))
    stores = _stores_in_scope(user, merchant)
    if rule is not None and rule.store_id and not stores.filter(pk=rule.store_id).exists():
        # A rule of a store outside the user's scope is not theirs to edit (the service would refuse it).
        raise Http404(_("No such rule."))
    if request.method == "POST":
        initial = RebateRuleForm.initial_for(rule) if rule else None
        form = RebateRuleForm(request.POST, initial=initial, stores=stores)
        if form.is_valid():
            data = form.rule_data()
            try:
                if rule is None:
                    rebates.create_rebate_rule(user, merchant, **data)
                else:
                    # Only what the user changed: the dates shown lose their microseconds.
                    changes = {name: value for name, value in data.items() if name in form.changed_data}
                    rebates.update_rebate_rule(user, rule, **changes)
            except BusinessError as exc:
                show_refusal(request, exc, form)
            else:
                messages.success(request, _("Rebate rule saved."))
                return redirect("cards:rules")
    else:
        if rule is not None:
            initial = RebateRuleForm.initial_for(rule)
        else:
            initial = {"valid_from": timezone.now().replace(second=0, microsecond=0)}
        form = RebateRuleForm(initial=initial, stores=stores)
    return render(
        request, "loyalty/manage/rebate_rule_form.html", {"form": form, "rule": rule, "tab": "rules"}
    )


@login_required
@require_POST
def rebate_rule_toggle(request, pk):
    """Switch a rebate rule off (or on again)."""
    return _switch_rule(request, pk, RebateRule, rebates.set_rebate_rule_active)


@login_required
@require_http_methods(["GET", "POST"])
def earn_rule_form(request, pk=None):
    """Create or edit a points earn rule (rule_settings.create_earn_rule / update_earn_rule)."""
    user = request.user
    require_perms(user, "cards.view", "products.manage")
    merchant = managed_merchant(user)
    rule = None
    if pk is not None:
        rule = PointsEarnRule.objects.filter(merchant=merchant, pk=pk).first()
        if rule is None:
            raise Http404(_("No such rule."))
    stores = _merchant_stores(merchant)
    if request.method == "POST":
        form = EarnRuleForm(request.POST, stores=stores)
        if form.is_valid():
            try:
                if rule is None:
                    rule_settings.create_earn_rule(user, merchant, **form.rule_data())
                else:
                    rule_settings.update_earn_rule(user, rule, **form.rule_data())
            except BusinessError as exc:
                show_refusal(request, exc, form)
            else:
                messages.success(request, _("Points rule saved."))
                return redirect("cards:rules")
    else:
        initial = None
        if rule is not None:
            initial = {
                name: getattr(rule, name)
                for name in (
                    "name",
                    "points_per_yuan",
                    "birthday_multiplier",
                    "valid_from",
                    "valid_until",
                    "priority",
                )
            }
            initial.update(stores=list(rule.stores.all()), weekdays=list(rule.weekdays))
        form = EarnRuleForm(initial=initial, stores=stores)
    return render(request, "loyalty/manage/earn_rule_form.html", {"form": form, "rule": rule, "tab": "rules"})


@login_required
@require_POST
def earn_rule_toggle(request, pk):
    """Switch a points earn rule off (or on again)."""
    return _switch_rule(
        request,
        pk,
        PointsEarnRule,
        lambda user, rule, active: rule_settings.update_earn_rule(user, rule, is_active=active),
    )


@login_required
@require_http_methods(["GET", "POST"])
def points_policy(request):
    """The merchant's points expiry, cash rate and cap per bill (rule_settings.set_points_policy)."""
    user = request.user
    require_perms(user, "cards.view", "products.manage")
    merchant = managed_merchant(user)
    policy = points_service.policy_for(merchant)
    if request.method == "POST":
        form = PointsPolicyForm(request.POST)
        if form.is_valid():
            try:
                rule_settings.set_points_policy(user, merchant, **form.cleaned_data)
            except BusinessError as exc:
                show_refusal(request, exc, form)
            else:
                messages.success(request, _("Points policy saved."))
                return redirect("cards:rules")
    else:
        form = PointsPolicyForm(
            initial={
                "expiry_mode": policy.expiry_mode,
                "expiry_days": policy.expiry_days,
                "points_per_yuan": policy.points_per_yuan,
                "cap_percent": policy.cap_percent,
                "cap_fen": yuan(policy.cap_fen),
                "earn_on_bonus": policy.earn_on_bonus,
                "earn_on_points": policy.earn_on_points,
            }
        )
    return render(request, "loyalty/manage/policy_form.html", {"form": form, "tab": "rules"})


# ---- batches -------------------------------------------------------------------------------------------------


def _batch_form(user, merchant, data=None):
    products = CardProduct.objects.filter(merchant=merchant, is_active=True).order_by("name")
    return BatchForm(data, products=products, stores=_stores_in_scope(user, merchant))


@login_required
@require_http_methods(["GET", "POST"])
def batch_list(request):
    """Card batches in the user's scope and, with cards.issue, the form that issues a new one."""
    user = request.user
    require_perms(user, "cards.view")
    merchant = managed_merchant(user)
    form = None
    if request.method == "POST":
        require_perms(user, "cards.issue")
        form = _batch_form(user, merchant, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                batch = issue_batch(
                    user,
                    data["product"],
                    store=data["store"],
                    prefix=data["prefix"],
                    start=data["start"],
                    count=data["count"],
                    serial_width=data["serial_width"],
                    note=data["note"],
                )
            except BusinessError as exc:
                show_refusal(request, exc, form)
                reason = exc.extra.get("reason") if isinstance(exc.extra, dict) else None
                if reason:
                    form.add_error(None, reason)
            else:
                messages.success(request, _("%(count)s cards issued.") % {"count": batch.count})
                return redirect("cards:batches")
    elif user.has_perm("cards.issue"):
        form = _batch_form(user, merchant)
    batches = scope(CardBatch.objects.filter(merchant=merchant), user, "store")
    paginator = Paginator(batches.select_related("product", "store", "created_by").order_by("-id"), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "loyalty/manage/batches.html",
        {
            "form": form,
            "page": page,
            "tab": "batches",
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def batch_sheet(request, pk):
    """A printable A4 sheet of a batch: each card's number, Code 128 barcode and QR code, 3 × 8 per page."""
    user = request.user
    require_perms(user, "cards.view", "cards.issue")
    batch = (
        scope(CardBatch.objects.filter(merchant=managed_merchant(user)), user, "store").filter(pk=pk).first()
    )
    if batch is None:
        raise Http404(_("No such batch."))
    paginator = Paginator(Card.objects.filter(batch=batch).order_by("number").only("number"), SHEET_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    labels = [
        {"number": c.number, "barcode": mark_safe(code128_svg(c.number)), "qr": mark_safe(qr_svg(c.number))}
        for c in page.object_list
    ]
    return render(
        request, "loyalty/manage/batch_sheet.html", {"batch": batch, "page": page, "labels": labels}
    )
