"""Coupon templates: create and change them (P3); the rules are in the `coupons` module docstring.

A template belongs to head office or a region (its owner node) and is changed by staff whose scope
covers that node. `value` is read per kind: cash = fen off, discount = rate in thousandths
(850 = 85折, no rounding here: the pricing engine rounds the discount), count = uses, gift = unused.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import ValidationFailed
from onecard.core.scoping import require_node_in_scope
from onecard.org.choices import NodeKind

from .coupon_choices import CouponKind, IssueRule
from .models import CouponTemplate

TEMPLATE_FIELDS = (
    "name", "kind", "value", "min_spend", "cap", "gift_product_id", "product_ids", "category_ids",
    "valid_from", "valid_to", "valid_days", "per_member_limit", "restore_on_return",
    "stacks_with_promotions", "issue_rule", "spend_threshold", "active",
)  # fmt: skip


def _ids(value, field_name, errors):
    try:
        ids = [int(v) for v in value or []]
    except (TypeError, ValueError):
        ids = [-1]
    if any(i <= 0 for i in ids):
        errors[field_name] = [_("Enter positive whole numbers.")]
        return []
    return sorted(set(ids))


def _clean_template(merchant, node, data, stores, *, exclude_pk=None):
    errors = {}
    if node is None or node.merchant_id != merchant.pk or node.kind not in (NodeKind.HQ, NodeKind.REGION):
        errors["node"] = [_("A coupon template belongs to head office or a region.")]
    data["name"] = (data.get("name") or "").strip()
    if not data["name"]:
        errors["name"] = [_("Enter a name.")]
    elif CouponTemplate.objects.filter(merchant=merchant, name=data["name"]).exclude(pk=exclude_pk).exists():
        errors["name"] = [_("Another coupon template has this name.")]
    kind, value = data.get("kind"), data.get("value") or 0
    data["value"] = value
    if kind not in CouponKind.values:
        errors["kind"] = [_("Choose a kind of coupon.")]
    elif kind == CouponKind.CASH and value <= 0:
        errors["value"] = [_("Enter the amount the voucher takes off.")]
    elif kind == CouponKind.DISCOUNT and not 0 < value < 1000:
        errors["value"] = [_("Enter a discount rate between 0.1 and 99.9 percent of the price.")]
    elif kind == CouponKind.COUNT and value < 1:
        errors["value"] = [_("Enter how many uses the coupon has.")]
    elif kind == CouponKind.GIFT and not data.get("gift_product_id"):
        errors["gift_product_id"] = [_("Choose the product the coupon gives.")]
    if kind != CouponKind.GIFT:
        data["gift_product_id"] = None
    if kind != CouponKind.DISCOUNT:
        data["cap"] = None
    elif data.get("cap") is not None and data["cap"] <= 0:
        errors["cap"] = [_("Enter an amount greater than zero, or leave it empty.")]
    if (data.get("min_spend") or 0) < 0:
        errors["min_spend"] = [_("Enter an amount of zero or more.")]
    data["min_spend"] = data.get("min_spend") or 0
    data["product_ids"] = _ids(data.get("product_ids"), "product_ids", errors)
    data["category_ids"] = _ids(data.get("category_ids"), "category_ids", errors)
    if bool(data.get("valid_days")) == bool(data.get("valid_to")):
        errors["valid_days"] = [_("Give either an end date or a number of days from issue, not both.")]
    elif data.get("valid_days"):
        data["valid_from"] = data["valid_to"] = None
    elif data.get("valid_from") and data["valid_from"] > data["valid_to"]:
        errors["valid_to"] = [_("The end date comes before the start date.")]
    if data.get("per_member_limit") is not None and data["per_member_limit"] < 1:
        errors["per_member_limit"] = [_("Enter 1 or more, or leave it empty for no limit.")]
    if data.get("issue_rule", "") not in IssueRule.values:
        errors["issue_rule"] = [_("Choose a rule.")]
    if data.get("issue_rule") != IssueRule.SPEND:
        data["spend_threshold"] = None
    if node is not None and any(
        s.kind != NodeKind.STORE or not s.path.startswith(node.path) or s.merchant_id != merchant.pk
        for s in stores
    ):
        errors["stores"] = [_("Choose stores under the template's owner.")]
    if errors:
        raise ValidationFailed(errors)
    return data


@transaction.atomic
def create_template(actor, merchant, *, node, stores=(), **fields) -> CouponTemplate:
    """Create a coupon template owned by HQ or a region in the actor's scope."""
    if actor is not None and node is not None:
        require_node_in_scope(actor, node)
    stores = list(stores)
    data = _clean_template(merchant, node, {k: fields.get(k) for k in TEMPLATE_FIELDS if k in fields}, stores)
    data.setdefault("issue_rule", "")
    template = CouponTemplate.objects.create(
        merchant=merchant, node=node, created_by=actor if actor is not None and actor.pk else None, **data
    )
    template.stores.set(stores)
    after = {**audit.snapshot(template, TEMPLATE_FIELDS), "node": node.pk, "stores": [s.pk for s in stores]}
    audit.record(actor, "create", template, after=after, merchant=merchant)
    return template


@transaction.atomic
def update_template(actor, template, *, stores=None, **changes) -> CouponTemplate:
    """Change a template; coupons already issued keep their validity window."""
    template = (
        CouponTemplate.objects.select_for_update().select_related("node", "merchant").get(pk=template.pk)
    )
    if actor is not None:
        require_node_in_scope(actor, template.node)
    current_stores = list(template.stores.all())
    before = {**audit.snapshot(template, TEMPLATE_FIELDS), "stores": [s.pk for s in current_stores]}
    data = {k: getattr(template, k) for k in TEMPLATE_FIELDS}
    data.update({k: v for k, v in changes.items() if k in TEMPLATE_FIELDS})
    stores = current_stores if stores is None else list(stores)
    data = _clean_template(template.merchant, template.node, data, stores, exclude_pk=template.pk)
    for name, value in data.items():
        setattr(template, name, value)
    template.save()
    template.stores.set(stores)
    after = {**audit.snapshot(template, TEMPLATE_FIELDS), "stores": [s.pk for s in stores]}
    b, a = audit.diff(before, after)
    audit.record(actor, "update", template, before=b, after=a, merchant=template.merchant)
    return template
