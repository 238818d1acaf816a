"""Settlement pages under /settlement/: statements list with totals and filters, generate, detail, settle, .xlsx.

Views parse, check permissions, call `settlement` (services and scoped reads), render. Viewing
needs settlement.view and lists only `settlement.visible_statements(user)`; settling needs
settlement.settle and `settlement.may_settle`. Generating recomputes derived statements (no money
moves), so settlement.view is enough; it covers the pairs of the user's merchant.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Sum
from django.db.models.functions import Abs
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from onecard.core.errors import BusinessError
from onecard.core.flash import call_and_flash
from onecard.core.money import fen_to_yuan_str
from onecard.core.paging import page_of
from onecard.core.permissions import require_perms
from onecard.core.scoping import scope_node_ids
from onecard.core.spreadsheets import xlsx_response
from onecard.loyalty.models.settlement import PairKind, PeriodKind, SettlementStatement, StatementStatus
from onecard.loyalty.settlement import exports as settlement_exports
from onecard.loyalty.settlement import services as settlement
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

PAGE_SIZE = 50
# A month of a busy pair has thousands of entries: the page shows the first ones, the .xlsx has all.
DETAIL_MAX_LINES = 1000


def _statement_or_404(user, pk):
    statement = (
        SettlementStatement.objects.select_related(
            "node_a", "node_b", "merchant_a", "merchant_b", "settled_by"
        )
        .filter(pk=pk)
        .first()
    )
    if statement is None or not settlement.statement_in_scope(user, statement):
        raise Http404(_("No such statement."))
    return statement


def _party_nodes(user):
    """Stores (and head offices, home of cards issued without a store) in the user's scope, for the filter."""
    nodes = OrgNode.objects.filter(kind__in=[NodeKind.STORE, NodeKind.HQ])
    if user.node_id:
        nodes = nodes.filter(merchant_id=user.node.merchant_id)
    ids = scope_node_ids(user)
    if ids is not None:
        nodes = nodes.filter(id__in=ids)
    return nodes.select_related("merchant").order_by("merchant_id", "path")


def _period_param(request, kind, name):
    """The first day of the period in ?<name>; None when absent, or unreadable (then with an error message)."""
    text = request.GET.get(name)
    if not text:
        return None
    try:
        return settlement.parse_period(kind, text)
    except BusinessError as error:
        messages.error(request, error.message)
        return None


def _filtered(request):
    """(statements, clean filter values) from the query string; unreadable filters are dropped with a message."""
    user, params = request.user, request.GET
    statements = settlement.visible_statements(user)
    clean = {}
    period = params.get("period", "")
    if period in PeriodKind.values:
        statements = statements.filter(period_kind=period)
        clean["period"] = period
    day = _period_param(request, PeriodKind.DAY, "date")
    if day is not None:
        statements = statements.filter(period_start=day)
        clean["date"] = day.isoformat()
    first = _period_param(request, PeriodKind.MONTH, "month")
    if first is not None:
        _first, _start, end = settlement.period_bounds(PeriodKind.MONTH, first)
        statements = statements.filter(period_start__gte=first, period_start__lt=end.date())
        clean["month"] = first.strftime("%Y-%m")
    store = params.get("store", "")
    if store.isdigit() and _party_nodes(user).filter(pk=int(store)).exists():
        statements = statements.filter(Q(node_a_id=int(store)) | Q(node_b_id=int(store)))
        clean["store"] = store
    status = params.get("status", "")
    if status in StatementStatus.values:
        statements = statements.filter(status=status)
        clean["status"] = status
    return statements, clean


def _row(statement):
    payer, payee = settlement_exports.payer_and_payee(statement)
    return {
        "s": statement,
        "a_owes_b": fen_to_yuan_str(statement.gross_a_owes_b),
        "b_owes_a": fen_to_yuan_str(statement.gross_b_owes_a),
        "net": fen_to_yuan_str(abs(statement.net)),
        "payer": payer,
        "payee": payee,
    }


def _totals(statements):
    sums = statements.aggregate(
        count=Count("pk"),
        a_owes_b=Sum("gross_a_owes_b"),
        b_owes_a=Sum("gross_b_owes_a"),
        entries=Sum("entry_count"),
        open_to_pay=Sum(Abs("net"), filter=Q(status=StatementStatus.OPEN)),
        unbalanced=Count("pk", filter=~Q(imbalance=0)),
    )
    return {
        "count": sums["count"],
        "entries": sums["entries"] or 0,
        "a_owes_b": fen_to_yuan_str(sums["a_owes_b"] or 0),
        "b_owes_a": fen_to_yuan_str(sums["b_owes_a"] or 0),
        "open_to_pay": fen_to_yuan_str(sums["open_to_pay"] or 0),
        "unbalanced": sums["unbalanced"],
    }


@login_required
@require_safe
def statement_list(request):
    """Statements the user may see, filtered, with totals; `?export=xlsx` downloads the filtered list."""
    require_perms(request.user, "settlement.view")
    statements, clean = _filtered(request)
    statements = statements.select_related("node_a", "node_b", "merchant_a", "merchant_b")
    if request.GET.get("export") == "xlsx":
        content, rows = settlement_exports.statements_xlsx(statements)
        settlement.record_export(request.user, rows, filters=clean)
        return xlsx_response(content, f"settlement-{timezone.localtime():%Y%m%d-%H%M}.xlsx")
    page = page_of(request, statements, PAGE_SIZE)
    query = "&".join(f"{k}={v}" for k, v in clean.items())
    today = timezone.localdate()
    return render(
        request,
        "loyalty/settlement/list.html",
        {
            "page": page,
            "rows": [_row(s) for s in page],
            "totals": _totals(statements),
            "params": clean,
            "query": query,
            "stores": _party_nodes(request.user),
            "periods": PeriodKind.choices,
            "statuses": StatementStatus.choices,
            "default_day": settlement.default_period(PeriodKind.DAY, today).isoformat(),
            "today": today.isoformat(),
        },
    )


@login_required
@require_POST
def generate(request):
    """Build (or bring up to date) the statements of one day or month for the user's merchant."""
    user = request.user
    require_perms(user, "settlement.view")
    period = request.POST.get("period", PeriodKind.DAY)
    try:
        first = settlement.parse_period(period, request.POST.get("date", ""))
        merchant = user.node.merchant if user.node_id else None
        result = settlement.build_statements(period, first, merchant=merchant)
    except BusinessError as error:
        messages.error(request, error.message)
        return redirect("settlement:list")
    label = first.isoformat() if period == PeriodKind.DAY else first.strftime("%Y-%m")
    messages.success(
        request,
        _("Statements for %(period)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
        % {
            "period": label,
            "created": len(result.created),
            "updated": len(result.updated),
            "unchanged": len(result.unchanged),
        },
    )
    if result.unbalanced:
        messages.error(
            request,
            _(
                "%(n)d statement(s) do not net to zero: the clearing ledger has a fault. Run `onecard ledger verify`."
            )
            % {"n": len(result.unbalanced)},
        )
    target = "date" if period == PeriodKind.DAY else "month"
    return redirect(f"{reverse('settlement:list')}?period={period}&{target}={label}")


@login_required
@require_safe
def statement_detail(request, pk):
    """One statement with the journal entries it covers, and the settle button for those allowed."""
    require_perms(request.user, "settlement.view")
    statement = _statement_or_404(request.user, pk)
    lines = settlement.statement_lines(statement)
    return render(
        request,
        "loyalty/settlement/detail.html",
        {
            "row": _row(statement),
            "s": statement,
            "lines": [
                {"line": line, "amount": fen_to_yuan_str(line.amount)} for line in lines[:DETAIL_MAX_LINES]
            ],
            "more_lines": max(0, len(lines) - DETAIL_MAX_LINES),
            "can_settle": statement.status == StatementStatus.OPEN
            and settlement.may_settle(request.user, statement),
            "is_merchant_pair": statement.pair_kind == PairKind.MERCHANTS,
        },
    )


@login_required
@require_POST
def settle(request, pk):
    """Mark the statement settled: posts the settlement entry (services refuse a second time)."""
    require_perms(request.user, "settlement.settle")
    statement = _statement_or_404(request.user, pk)
    call_and_flash(request, lambda: settlement.settle(request.user, statement), _("Statement settled."))
    return redirect("settlement:detail", pk=statement.pk)


@login_required
@require_safe
def statement_export(request, pk):
    """One statement and its entries as .xlsx; audited."""
    require_perms(request.user, "settlement.view")
    statement = _statement_or_404(request.user, pk)
    content, rows = settlement_exports.statement_xlsx(statement)
    settlement.record_export(request.user, rows, statement=statement)
    return xlsx_response(content, f"settlement-{statement.pk}-{statement.period_label}.xlsx")
