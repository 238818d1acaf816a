"""Card pages under /cards/: card products, batches, the card list and one card's detail with its actions.

Products and batches are declared on core's generic views or kept as thin functions; the services
(cards.products, rule_settings) write and audit.

Each action is a POST form handled by one service of cards.py (or points.adjust), behind its own
permission (cards.manage, cards.cancel, points.adjust); the card must be in the user's scope
(`cards.cards_visible_to`), else 404. A refusal re-renders the card with the error next to the
field (or above the form) and nothing is written.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.forms import int_or_none, show_service_error, yuan
from onecard.core.lookups import first_or_404
from onecard.core.masking import mask_phone
from onecard.core.money import fen_to_yuan_str
from onecard.core.object_views import ObjectEditView, ObjectListView
from onecard.core.paging import filters_query
from onecard.core.permissions import require_perms
from onecard.core.scoping import managed_merchant, scope
from onecard.core.validators import InvalidValue, normalize_phone
from onecard.loyalty.cards import services as card_service
from onecard.loyalty.cards.barcodes import code128_svg, qr_svg
from onecard.loyalty.cards.choices import CardKind, CardStatus
from onecard.loyalty.cards.forms import (
    PAYOUT_METHODS,
    BatchForm,
    BindForm,
    CancelForm,
    EmptyForm,
    MergeForm,
    PasswordForm,
    PointsAdjustForm,
    ProductForm,
    ReasonForm,
    ReplaceForm,
)
from onecard.loyalty.cards.numbers import normalize_number
from onecard.loyalty.cards.products import create_product, issue_batch, update_product
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Card, CardBatch, CardProduct, CardTransaction, Posting, TierChange
from onecard.loyalty.models.stored_value import CardTxKind, CardTxStatus, ConsumptionOrder
from onecard.loyalty.points import services as points_service
from onecard.loyalty.stored_value import rule_settings
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.members import queries as member_queries
from onecard.members.models import Member
from onecard.org.queries import merchant_stores, stores_in_scope

PAGE_SIZE = 50
SHEET_SIZE = 240  # cards per printed sheet page: 10 A4 pages of 3 × 8

# ---- cards ---------------------------------------------------------------------------------------------------


def _search_cards(queryset, merchant, text):
    """Card no. (whole or its first digits), member phone, its last 4 digits or the member no."""
    text = (text or "").strip()
    if not text:
        return queryset
    number = normalize_number(text)
    condition = Q(number__startswith=number) if number.isdigit() else Q(pk__in=[])
    members = Member.objects.filter(
        member_queries.search_condition(text, merchant_ids=[merchant.pk]), merchant=merchant
    )
    return queryset.filter(condition | Q(member__in=members.values("pk")))


ISSUED = "issued"  # the card list's default filter: every card that left the stock


@login_required
def card_list(request):
    """Cards in the user's scope, searchable and filtered by status and product."""
    user = request.user
    require_perms(user, "cards.view")
    merchant = managed_merchant(user)
    cards = card_service.cards_visible_to(user, Card.objects.filter(merchant=merchant))
    params = request.GET
    cards = _search_cards(cards, merchant, params.get("q"))
    # The list opens on the cards people hold (issued: every status but in stock); stock is a filter away.
    # A search by number or member looks at every card unless a status is chosen.
    status = params.get("status", "" if (params.get("q") or "").strip() else ISSUED)
    if status in CardStatus.values:
        cards = cards.filter(status=status)
    elif status == ISSUED:
        cards = cards.exclude(status=CardStatus.IN_STOCK)
    if int_or_none(params.get("product")):
        cards = cards.filter(product_id=int(params["product"]))
    paginator = Paginator(
        cards.select_related("product", "member", "issued_store").order_by("-id"), PAGE_SIZE
    )
    page = paginator.get_page(params.get("page"))
    rows = [{"card": c, "phone": mask_phone(c.member.phone) if c.member_id else ""} for c in page.object_list]
    return render(
        request,
        "loyalty/manage/cards.html",
        {
            "page": page,
            "rows": rows,
            "params": params,
            "status": status,
            "query": filters_query(params),
            "statuses": CardStatus.choices,
            "products": CardProduct.objects.filter(merchant=merchant).order_by("name"),
            "tab": "cards",
        },
    )


def _card_or_404(user, number):
    cards = card_service.cards_visible_to(user, Card.objects.all()).select_related(
        "product", "member", "member__home_store", "issued_store", "batch", "successor"
    )
    return first_or_404(cards.filter(number=normalize_number(number)), _("No such card."))


def _find_member(user, card, text):
    """The member a bind names by phone or member no., among the members the user may see."""
    text = (text or "").strip()
    members = member_queries.visible_members(user).filter(merchant_id=card.merchant_id)
    try:
        condition = Q(phone=normalize_phone(text)) | Q(member_no=text)
    except InvalidValue:
        condition = Q(member_no=text)
    member = members.filter(condition).first() if text else None
    if member is None:
        raise ValidationFailed({"member": [_("No member with this phone or member no.")]})
    return member


def _other_card(user, card, number, field):
    other = card_service.cards_visible_to(user, Card.objects.filter(merchant_id=card.merchant_id))
    other = other.filter(number=normalize_number(number)).first()
    if other is None:
        raise ValidationFailed({field: [_("No such card in your part of the organisation.")]})
    return other


def _bind(user, card, data):
    card_service.bind_to_member(user, card, _find_member(user, card, data["member"]))
    return _("Card bound to the member.")


def _plain(service, message, *fields):
    """An action that calls `service(user, card, **those fields of the form)` and says `message`."""

    def run(user, card, data):
        service(user, card, **{name: data[name] for name in fields})
        return str(message)

    return run


_activate = _plain(card_service.activate, gettext_lazy("Card activated."))
_freeze = _plain(card_service.freeze, gettext_lazy("Card frozen."), "reason")
_unfreeze = _plain(card_service.unfreeze, gettext_lazy("Card unfrozen."))
_report_lost = _plain(card_service.report_lost, gettext_lazy("Card reported lost."), "reason")
_report_found = _plain(card_service.report_found, gettext_lazy("Card found: it works again."))
_reactivate = _plain(card_service.reactivate, gettext_lazy("Card reactivated."))


def _replace(user, card, data):
    card_service.replace(
        user, card, _other_card(user, card, data["new_number"], "new_number"), reason=data["reason"]
    )
    return _("Card replaced: balances moved to the new card.")


def _merge(user, card, data):
    card_service.merge_cards(
        user, card, _other_card(user, card, data["target"], "target"), reason=data["reason"]
    )
    return _("Card merged: balances moved to the other card.")


def payout_store(user, card):
    """The store whose cash pays a cancelled card out: the staff's own store, else the card's issuing store."""
    node = user.node if user.node_id else None
    if node is not None and node.is_store and node.merchant_id == card.merchant_id:
        return node
    return card.issued_store


def _cancel(user, card, data):
    """Cancel the card and pay its balance out as priced for the reason, in one transaction (cards.cancel)."""
    try:
        result = stored_value.cancel_card(
            user, card, reason=data["reason"], payout_store=payout_store(user, card), method=data["method"],
            refund_reason=data.get("refund_reason") or "member_request",
        )  # fmt: skip
    except stored_value.CashRefundTooLarge as exc:
        raise ValidationFailed({"method": [exc.message]}) from exc
    paid = result.payout.amount if result.payout is not None else 0
    message = _("Card cancelled: ¥%(amount)s refunded (%(method)s).") % {
        "amount": fen_to_yuan_str(paid),
        "method": dict(PAYOUT_METHODS)[data["method"]],
    }
    if result.quote is not None:
        message += " " + " ".join(str(line) for line in result.quote.lines)
    return message


def _password(user, card, data):
    card_service.set_card_password(user, card, data["password"])
    return _("Card password set.") if data["password"] else _("Card password removed.")


def _adjust_points(user, card, data):
    points_service.adjust(user, card, data["points"], reason=data["reason"])
    return _("Points adjusted.")


# name: (permission, form, do(user, card, cleaned_data) -> success message)
ACTIONS = {
    "bind": ("cards.manage", BindForm, _bind),
    "activate": ("cards.manage", EmptyForm, _activate),
    "freeze": ("cards.manage", ReasonForm, _freeze),
    "unfreeze": ("cards.manage", EmptyForm, _unfreeze),
    "report_lost": ("cards.manage", ReasonForm, _report_lost),
    "report_found": ("cards.manage", EmptyForm, _report_found),
    "reactivate": ("cards.manage", EmptyForm, _reactivate),
    "replace": ("cards.manage", ReplaceForm, _replace),
    "merge": ("cards.manage", MergeForm, _merge),
    "cancel": ("cards.cancel", CancelForm, _cancel),
    "password": ("cards.manage", PasswordForm, _password),
    "points": ("points.adjust", PointsAdjustForm, _adjust_points),
}
ACTION_TITLES = {
    "bind": gettext_lazy("Bind to a member"),
    "activate": gettext_lazy("Activate"),
    "freeze": gettext_lazy("Freeze"),
    "unfreeze": gettext_lazy("Unfreeze"),
    "report_lost": gettext_lazy("Report lost (挂失)"),
    "report_found": gettext_lazy("Found again (解挂)"),
    "reactivate": gettext_lazy("Reactivate"),
    "replace": gettext_lazy("Replace with a new card (补卡)"),
    "merge": gettext_lazy("Merge into another card of the member"),
    "cancel": gettext_lazy("Cancel the card (销卡)"),
    "password": gettext_lazy("Set or reset the card password"),
    "points": gettext_lazy("Adjust points"),
}
# Actions offered per status (the services refuse the others anyway, with the status's own code).
OFFERED = {
    CardStatus.IN_STOCK: ("bind", "activate", "cancel"),
    CardStatus.ACTIVE: ("bind", "freeze", "report_lost", "replace", "merge", "password", "points", "cancel"),
    CardStatus.FROZEN: ("unfreeze", "report_lost", "replace", "merge", "password", "points", "cancel"),
    CardStatus.LOST: ("report_found", "replace", "points", "cancel"),
    CardStatus.EXPIRED: ("reactivate", "points", "cancel"),
}


def _detail_context(user, card, forms=None):
    balances = card_service.card_balances(card)
    holds = CardTransaction.objects.filter(card=card, kind=CardTxKind.HOLD, status=CardTxStatus.OPEN)
    journal = (
        Posting.objects.filter(account__card_id=card.pk)
        .select_related("entry", "entry__node", "account")
        .order_by("-entry__created_at", "-id")[:30]
    )
    member = card.member
    offered = [
        name
        for name in OFFERED.get(card.status, ())
        if user.has_perm(ACTIONS[name][0]) and not (name == "bind" and card.member_id)
    ]
    forms = forms or {}
    actions = [
        {
            "name": name,
            "title": ACTION_TITLES[name],
            "form": forms.get(name) or ACTIONS[name][1](),
            "danger": name in ("cancel", "report_lost", "freeze"),
        }
        for name in offered
    ]
    points_accounts = {AccountKind.MEMBER_POINTS}
    return {
        "card": card,
        "member": member,
        "masked_phone": mask_phone(member.phone) if member else "",
        "tier": tiers.member_tier(member) if member else None,
        "tier_changes": TierChange.objects.filter(member=member).select_related("from_tier", "to_tier")[:10]
        if member
        else [],
        "principal": yuan(balances.get(AccountKind.MEMBER_PRINCIPAL, 0)),
        "bonus": yuan(balances.get(AccountKind.MEMBER_BONUS, 0)),
        "held": yuan(balances.get(AccountKind.HOLD_RESERVE, 0)),
        "refundable": yuan(card_service.refundable_principal(card)),
        "payout_store": payout_store(user, card),
        "points": points_service.available_points(card),
        "holds": [{"tx": h, "amount": yuan(h.amount)} for h in holds.select_related("store").order_by("-id")],
        "journal": [
            {
                "posting": p,
                "is_points": p.account.kind in points_accounts,
                "amount": p.amount if p.account.kind in points_accounts else yuan(p.amount),
                "after": p.balance_after if p.account.kind in points_accounts else yuan(p.balance_after),
            }
            for p in journal
        ],
        "actions": actions,
        "other_cards": Card.objects.filter(member=member, status=CardStatus.ACTIVE).exclude(pk=card.pk)
        if member
        else [],
        "stock": card_service.cards_visible_to(
            user,
            Card.objects.filter(
                merchant_id=card.merchant_id, status=CardStatus.IN_STOCK, product__kind=card.product.kind
            ),
        ).order_by("number")[:20],
        "tab": "cards",
    }


@login_required
def card_detail(request, number):
    """One card: product, member, status, balances, holds, journal, and the life-cycle actions."""
    user = request.user
    require_perms(user, "cards.view")
    card = _card_or_404(user, number)
    return render(request, "loyalty/manage/card_detail.html", _detail_context(user, card))


@login_required
@require_POST
def card_action(request, number, action):
    """One life-cycle action through its service; a refusal re-renders the card with the error in place."""
    user = request.user
    if action not in ACTIONS:
        raise Http404(_("No such action."))
    permission, form_class, do = ACTIONS[action]
    require_perms(user, "cards.view", permission)
    card = _card_or_404(user, number)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            message = do(user, card, form.cleaned_data)
        except BusinessError as exc:
            show_service_error(form, exc)
        else:
            messages.success(request, message)
            target = Card.objects.filter(pk=card.pk).values_list("successor__number", "status").first()
            if action == "replace" and target and target[0]:
                return redirect("cards:card", number=target[0])
            return redirect("cards:card", number=card.number)
    card = _card_or_404(user, number)
    context = _detail_context(user, card, {action: form})
    context["failed_action"] = action
    if action not in {a["name"] for a in context["actions"]}:
        context["actions"].insert(
            0, {"name": action, "title": ACTION_TITLES[action], "form": form, "danger": False}
        )
    return render(request, "loyalty/manage/card_detail.html", context, status=400)


# ---- card products -------------------------------------------------------------------------------------------


class ProductList(ObjectListView):
    """Card products of the merchant with their limits and consumption order."""

    permissions = ("cards.view",)
    model = CardProduct
    template_name = "loyalty/manage/products.html"
    extra_context = {"tab": "products"}

    def get_queryset(self):
        products = super().get_queryset().select_related("stored_value_settings").prefetch_related("stores")
        return products.annotate(card_count=Count("cards")).order_by("name")

    def row(self, product):
        settings = getattr(product, "stored_value_settings", None)
        order = settings.consumption_order if settings else ConsumptionOrder.PROPORTIONAL
        return {
            "product": product,
            "cap": yuan(product.effective_balance_cap),
            "threshold": yuan(product.password_threshold),
            "daily_limit": yuan(product.daily_charge_limit),
            "order": ConsumptionOrder(order).label,
        }

    def get_context_data(self):
        return {"alliance": self.merchant.alliance}


class ProductEdit(ObjectEditView):
    """Create or edit a card product; the consumption order is saved in the same transaction."""

    permissions = ("cards.view", "products.manage")
    model = CardProduct
    not_found = gettext_lazy("No such card product.")
    form_class = ProductForm
    template_name = "loyalty/manage/product_form.html"
    object_name = "product"
    extra_context = {"tab": "products"}
    success_url = "cards:products"
    success_message = gettext_lazy("Card product “%(name)s” saved.")
    new_title = gettext_lazy("New card product")
    edit_title = gettext_lazy("Edit card product")

    def form_kwargs(self):
        return {"stores": merchant_stores(self.merchant)}

    def initial(self):
        if self.object is None:
            return None
        return ProductForm.initial_for(self.object, stored_value.consumption_order(self.object))

    def get_context_data(self):
        return {"alliance": self.merchant.alliance}

    def save(self, form):
        data = form.product_data()
        if self.object is None:
            product = create_product(self.user, self.merchant, **data)
        else:
            product = update_product(self.user, self.object, **data)
        if product.kind == CardKind.STORED_VALUE:
            rule_settings.set_consumption_order(self.user, product, form.cleaned_data["consumption_order"])
        return product


# ---- batches -------------------------------------------------------------------------------------------------


def _batch_form(user, merchant, data=None):
    products = CardProduct.objects.filter(merchant=merchant, is_active=True).order_by("name")
    return BatchForm(data, products=products, stores=stores_in_scope(user, merchant))


def _issue_batch(request, form):
    """Issue the batch the valid form describes; a refusal lands on the form (with the service's reason)."""
    data = form.cleaned_data
    fields = ("store", "prefix", "start", "count", "serial_width", "note")
    try:
        batch = issue_batch(request.user, data["product"], **{name: data[name] for name in fields})
    except BusinessError as exc:
        show_service_error(form, exc)
        reason = exc.extra.get("reason") if isinstance(exc.extra, dict) else None
        if reason:
            form.add_error(None, reason)
        return None
    return batch


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
        batch = _issue_batch(request, form) if form.is_valid() else None
        if batch is not None:
            messages.success(request, _("%(count)s cards issued.") % {"count": batch.count})
            return redirect("cards:batches")
    elif user.has_perm("cards.issue"):
        form = _batch_form(user, merchant)
    batches = scope(CardBatch.objects.filter(merchant=merchant), user, "store")
    paginator = Paginator(batches.select_related("product", "store", "created_by").order_by("-id"), PAGE_SIZE)
    return render(
        request,
        "loyalty/manage/batches.html",
        {"form": form, "page": paginator.get_page(request.GET.get("page")), "tab": "batches"},
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def batch_sheet(request, pk):
    """A printable A4 sheet of a batch: each card's number, Code 128 barcode and QR code, 3 × 8 per page."""
    user = request.user
    require_perms(user, "cards.view", "cards.issue")
    batches = scope(CardBatch.objects.filter(merchant=managed_merchant(user)), user, "store")
    batch = first_or_404(batches.filter(pk=pk), _("No such batch."))
    paginator = Paginator(Card.objects.filter(batch=batch).order_by("number").only("number"), SHEET_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    labels = [
        {"number": c.number, "barcode": mark_safe(code128_svg(c.number)), "qr": mark_safe(qr_svg(c.number))}  # noqa: S308 - SVG drawn by our own encoders from the card number (digits), text escaped
        for c in page.object_list
    ]
    return render(
        request, "loyalty/manage/batch_sheet.html", {"batch": batch, "page": page, "labels": labels}
    )


# The URL confs name these views as functions: one view object per page.
product_list = ProductList.as_view()
product_form = ProductEdit.as_view()
