"""Settlement statements: build them from the clearing postings, settle them through store cash.

One statement per pair of stores (or merchants) and period (day or month); building is idempotent
and late postings go on a new part. The rules are in docs/money.md (Settlement statements).
"""

import calendar
import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from onecard.core import audit
from onecard.core.errors import PermissionDenied
from onecard.core.scoping import node_in_scope, scope_node_ids
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.errors import LedgerError
from onecard.loyalty.ledger.services import EntrySpec, Leg
from onecard.loyalty.models import Posting
from onecard.loyalty.models.settlement import (
    PairKind,
    PeriodKind,
    SettlementLine,
    SettlementStatement,
    StatementStatus,
)
from onecard.loyalty.models.stored_value import CardTransaction
from onecard.loyalty.settlement.errors import (
    InvalidPeriod,
    StatementAlreadySettled,
    StatementOverlapsSettled,
    StatementPeriodNotOver,
    StatementUnbalanced,
)
from onecard.org.models import Merchant

logger = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


# ---- periods ----------------------------------------------------------------------------------------


def period_kind_of(value) -> str:
    """PeriodKind from "day"/"month"; InvalidPeriod otherwise."""
    try:
        return PeriodKind(value)
    except ValueError:
        raise InvalidPeriod(extra={"period": str(value)}) from None


def period_start_of(period_kind, day: datetime.date) -> datetime.date:
    """The first day of the period containing `day` (the day itself, or the first of its month)."""
    return day.replace(day=1) if period_kind == PeriodKind.MONTH else day


def period_bounds(period_kind, day: datetime.date):
    """(first day, start, end) of the period containing `day`; start/end are aware, end exclusive."""
    first = period_start_of(period_kind, day)
    if period_kind == PeriodKind.MONTH:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        after = last + datetime.timedelta(days=1)
    else:
        after = first + datetime.timedelta(days=1)
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=SHANGHAI)
    end = datetime.datetime.combine(after, datetime.time.min, tzinfo=SHANGHAI)
    return first, start, end


def parse_period(period_kind, text) -> datetime.date:
    """The first day of the period written as YYYY-MM-DD (or YYYY-MM for a month); InvalidPeriod if unreadable."""
    period_kind = period_kind_of(period_kind)
    text = (text or "").strip()
    try:
        if period_kind == PeriodKind.MONTH and len(text) == 7:
            day = datetime.date.fromisoformat(f"{text}-01")
        else:
            day = datetime.date.fromisoformat(text)
    except ValueError:
        raise InvalidPeriod(extra={"date": text}) from None
    return period_start_of(period_kind, day)


def default_period(period_kind, today=None) -> datetime.date:
    """The last complete period: yesterday, or the first day of last month (Asia/Shanghai)."""
    today = today or timezone.now().astimezone(SHANGHAI).date()
    if period_kind_of(period_kind) == PeriodKind.MONTH:
        return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    return today - datetime.timedelta(days=1)


# ---- building ---------------------------------------------------------------------------------------


@dataclass
class BuildResult:
    """What a build did: statements created, brought up to date or left as they were; settled ones it kept."""

    period_kind: str
    period_start: datetime.date
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    settled: list = field(default_factory=list)

    @property
    def statements(self) -> list:
        """Every statement of the period the build looked at (settled ones included), in id order."""
        return sorted(self.created + self.updated + self.unchanged + self.settled, key=lambda s: s.pk)

    @property
    def unbalanced(self) -> list:
        return [s for s in self.statements if s.imbalance]

    @property
    def late(self) -> list:
        return [s for s in self.created + self.updated if s.is_late]


def _pair_of(merchant_id, node_id, counterparty_node_id, counterparty_merchant_id):
    """(pair key, side 0 for party A / 1 for B, (merchant A, merchant B)) of one clearing account."""
    if counterparty_node_id is not None:
        a, b = sorted((node_id, counterparty_node_id))
        return (PairKind.STORES, a, b), (0 if node_id == a else 1), (merchant_id, merchant_id)
    a, b = sorted((merchant_id, counterparty_merchant_id))
    return (PairKind.MERCHANTS, a, b), (0 if merchant_id == a else 1), (a, b)


def _statement_key(statement):
    if statement.pair_kind == PairKind.STORES:
        return (PairKind.STORES, statement.node_a_id, statement.node_b_id)
    return (PairKind.MERCHANTS, statement.merchant_a_id, statement.merchant_b_id)


def _clearing_sides(start, end, merchant):
    """{pair key: {entry id: [A side, B side]}} and {pair key: (merchant A, merchant B)} for the period."""
    postings = Posting.objects.filter(
        account__kind=AccountKind.CLEARING, entry__created_at__gte=start, entry__created_at__lt=end
    )
    postings = postings.exclude(entry__kind=EntryKind.SETTLE).exclude(entry__reverses__kind=EntryKind.SETTLE)
    if merchant is not None:
        postings = postings.filter(Q(account__merchant=merchant) | Q(account__counterparty_merchant=merchant))
    rows = postings.values_list(
        "entry_id",
        "amount",
        "account__merchant_id",
        "account__node_id",
        "account__counterparty_node_id",
        "account__counterparty_merchant_id",
    )
    sides = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    merchants = {}
    for entry_id, amount, merchant_id, node_id, cp_node_id, cp_merchant_id in rows.iterator(chunk_size=5000):
        key, side, pair_merchants = _pair_of(merchant_id, node_id, cp_node_id, cp_merchant_id)
        sides[key][entry_id][side] += amount
        merchants[key] = pair_merchants
    return sides, merchants


def _figures(per_entry) -> dict:
    a_side = [amounts[0] for amounts in per_entry.values()]
    gross_a = sum(x for x in a_side if x > 0)
    gross_b = -sum(x for x in a_side if x < 0)
    return {
        "gross_a_owes_b": gross_a,
        "gross_b_owes_a": gross_b,
        "net": gross_a - gross_b,
        "entry_count": len(per_entry),
        "imbalance": sum(a + b for a, b in per_entry.values()),
    }


def build_statements(period_kind, day_or_month_start, merchant=None) -> BuildResult:
    """Create or bring up to date the statements of every pair with clearing postings in the period.

    `merchant` limits the build to pairs it is part of. Idempotent: a second run changes nothing.
    Settled statements are never touched; entries they do not cover go to a later part (see module).
    """
    period_kind = period_kind_of(period_kind)
    first, start, end = period_bounds(period_kind, day_or_month_start)
    result = BuildResult(period_kind, first)
    with transaction.atomic():
        # Builds queue behind each other (NO KEY UPDATE does not block the ledger's inserts that
        # reference merchants), so two builds of one period cannot both create the same statement.
        list(Merchant.objects.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))
        sides, pair_merchants = _clearing_sides(start, end, merchant)
        existing = defaultdict(list)
        statements = SettlementStatement.objects.filter(period_kind=period_kind, period_start=first)
        if merchant is not None:
            statements = statements.filter(Q(merchant_a=merchant) | Q(merchant_b=merchant))
        for statement in statements.select_for_update(no_key=True).order_by("pk"):
            existing[_statement_key(statement)].append(statement)
        lines = defaultdict(set)
        for statement_id, entry_id in SettlementLine.objects.filter(
            statement__period_kind=period_kind, statement__period_start=first
        ).values_list("statement_id", "entry_id"):
            lines[statement_id].add(entry_id)
        for key in sorted(sides):
            _build_one(result, key, pair_merchants[key], sides[key], existing[key], lines)
    for statement in result.unbalanced:
        logger.error(
            "settlement statement #%s (%s) is unbalanced by %s fen: the clearing ledger has a fault",
            statement.pk,
            statement,
            statement.imbalance,
        )
    return result


def _build_one(result, key, merchants, per_entry, statements, lines):
    claimed = set()
    open_statement = None
    for statement in statements:
        if statement.status == StatementStatus.SETTLED:
            claimed |= lines[statement.pk]
            result.settled.append(statement)
        else:
            open_statement = statement
    unclaimed = {entry_id: amounts for entry_id, amounts in per_entry.items() if entry_id not in claimed}
    if not unclaimed:
        if open_statement is not None:
            result.unchanged.append(open_statement)
        return
    figures = _figures(unclaimed)
    if open_statement is None:
        pair_kind, a, b = key
        parties = {"node_a_id": a, "node_b_id": b} if pair_kind == PairKind.STORES else {}
        statement = SettlementStatement.objects.create(
            pair_kind=pair_kind,
            merchant_a_id=merchants[0],
            merchant_b_id=merchants[1],
            period_kind=result.period_kind,
            period_start=result.period_start,
            part=max((s.part for s in statements), default=0) + 1,
            **parties,
            **figures,
        )
        have = set()
        result.created.append(statement)
    else:
        statement = open_statement
        have = lines[statement.pk]
        changed = [name for name, value in figures.items() if getattr(statement, name) != value]
        if changed or have != set(unclaimed):
            for name in changed:
                setattr(statement, name, figures[name])
            statement.generated_at = timezone.now()
            statement.save(update_fields=[*changed, "generated_at"])
            result.updated.append(statement)
        else:
            result.unchanged.append(statement)
    stale = have - set(unclaimed)
    if stale:
        # Entries never disappear from the journal, so this only clears rows written by an older build.
        SettlementLine.objects.filter(statement=statement, entry_id__in=stale).delete()
    SettlementLine.objects.bulk_create(
        [
            SettlementLine(statement=statement, entry_id=entry_id, amount=amounts[0])
            for entry_id, amounts in sorted(unclaimed.items())
            if entry_id not in have
        ]
    )


# ---- who sees what ----------------------------------------------------------------------------------


def _is_head_office_of(user, merchant_ids) -> bool:
    node = user.node if user.node_id else None
    return node is not None and node.parent_id is None and node.merchant_id in merchant_ids


def visible_statements(user):
    """The statements the user may see: store pairs with a store in their scope; merchant pairs at head office."""
    statements = SettlementStatement.objects.all()
    if user.sees_everything:
        return statements
    if not user.node_id:
        return statements.none()
    merchant_id = user.node.merchant_id
    if user.node.parent_id is None:
        return statements.filter(
            Q(pair_kind=PairKind.STORES, merchant_a_id=merchant_id)
            | Q(pair_kind=PairKind.MERCHANTS) & (Q(merchant_a_id=merchant_id) | Q(merchant_b_id=merchant_id))
        )
    ids = scope_node_ids(user)
    return statements.filter(Q(pair_kind=PairKind.STORES) & (Q(node_a_id__in=ids) | Q(node_b_id__in=ids)))


def statement_in_scope(user, statement) -> bool:
    """True when `visible_statements(user)` would list the statement."""
    if user.sees_everything:
        return True
    if statement.pair_kind == PairKind.MERCHANTS:
        return _is_head_office_of(user, {statement.merchant_a_id, statement.merchant_b_id})
    return node_in_scope(user, statement.node_a) or node_in_scope(user, statement.node_b)


def may_settle(user, statement) -> bool:
    """settlement.settle and both stores in scope (store pair), or head office of either merchant."""
    if user is None or not user.has_perm("settlement.settle"):
        return False
    if user.sees_everything:
        return True
    if statement.pair_kind == PairKind.MERCHANTS:
        return _is_head_office_of(user, {statement.merchant_a_id, statement.merchant_b_id})
    return node_in_scope(user, statement.node_a) and node_in_scope(user, statement.node_b)


# ---- settling ---------------------------------------------------------------------------------------


def _pair_accounts(statement) -> Q:
    """The clearing accounts of the statement's pair, as a condition on Posting.account."""
    if statement.pair_kind == PairKind.STORES:
        a, b = statement.node_a_id, statement.node_b_id
        return Q(account__node_id=a, account__counterparty_node_id=b) | Q(
            account__node_id=b, account__counterparty_node_id=a
        )
    a, b = statement.merchant_a_id, statement.merchant_b_id
    return Q(account__merchant_id=a, account__counterparty_merchant_id=b) | Q(
        account__merchant_id=b, account__counterparty_merchant_id=a
    )


def _same_pair(statement) -> Q:
    return Q(
        statement__pair_kind=statement.pair_kind,
        statement__merchant_a_id=statement.merchant_a_id,
        statement__merchant_b_id=statement.merchant_b_id,
        statement__node_a_id=statement.node_a_id,
        statement__node_b_id=statement.node_b_id,
    )


def _settle_legs(statement) -> list[Leg]:
    """Legs that bring each clearing account of the statement back by its movement, through its store's cash.

    An account that moved +n (its store owes n) gets −n, and the store's cash +n (cash paid out is
    less cash held; see AccountKind's sign convention); the creditor's side mirrors it. Each
    store's legs sum to zero on their own, so the entry balances for any number of stores.
    """
    movements = (
        Posting.objects.filter(
            _pair_accounts(statement),
            account__kind=AccountKind.CLEARING,
            entry_id__in=SettlementLine.objects.filter(statement=statement).values("entry_id"),
        )
        .values(
            "account_id",
            "account__merchant_id",
            "account__node_id",
            "account__counterparty_node_id",
            "account__counterparty_merchant_id",
        )  # fmt: skip
        .annotate(total=Sum("amount"))
        .order_by("account_id")
    )
    legs, cash, a_side = [], defaultdict(int), 0
    for row in movements:
        _key, side, _merchants = _pair_of(
            row["account__merchant_id"],
            row["account__node_id"],
            row["account__counterparty_node_id"],
            row["account__counterparty_merchant_id"],
        )
        a_side += row["total"] if side == 0 else 0
        if row["total"]:
            legs.append(Leg(row["account_id"], -row["total"]))
            cash[(row["account__merchant_id"], row["account__node_id"])] += row["total"]
    if a_side != statement.net:
        raise LedgerError(f"statement #{statement.pk}: lines say net {statement.net}, postings say {a_side}")
    for (merchant_id, node_id), amount in sorted(cash.items()):
        if amount:
            legs.append(
                Leg(ledger.open_account(AccountKind.STORE_CASH, merchant_id, node=node_id).pk, amount)
            )
    return legs


@transaction.atomic
def settle(actor, statement) -> SettlementStatement:
    """Mark a statement paid: one SETTLE entry moves the net through the stores' cash; audited.

    Refused when already settled, unbalanced, its period has not ended, or a settled statement of
    the other period kind covers any of its entries. A statement whose clearing movements are all
    zero is marked settled without an entry.
    """
    if actor is not None and not may_settle(actor, statement):
        raise PermissionDenied()
    statement = SettlementStatement.objects.select_for_update(no_key=True).get(pk=statement.pk)
    if statement.status == StatementStatus.SETTLED:
        raise StatementAlreadySettled(extra={"statement": statement.pk})
    if statement.imbalance:
        raise StatementUnbalanced(extra={"statement": statement.pk, "imbalance": statement.imbalance})
    _first, _start, end = period_bounds(statement.period_kind, statement.period_start)
    if timezone.now() < end:
        raise StatementPeriodNotOver(extra={"statement": statement.pk, "ends_at": end.isoformat()})
    overlap = SettlementLine.objects.filter(
        _same_pair(statement),
        statement__status=StatementStatus.SETTLED,
        entry_id__in=SettlementLine.objects.filter(statement=statement).values("entry_id"),
    )
    if overlap.exists():
        raise StatementOverlapsSettled(extra={"statement": statement.pk})
    legs = _settle_legs(statement)
    entry = None
    if len(legs) >= 2:
        debtor = statement.node_a_id if statement.net > 0 else statement.node_b_id
        entry = ledger.post(
            EntrySpec(
                kind=EntryKind.SETTLE,
                merchant=statement.merchant_a_id,
                node=debtor,
                actor=actor,
                memo=f"settlement #{statement.pk} {statement.period_label} part {statement.part}",
                business_ref=f"settlement:{statement.pk}",
                legs=legs,
            )
        ).entry
    statement.status = StatementStatus.SETTLED
    statement.settled_at = timezone.now()
    statement.settled_by = actor if actor is not None and actor.pk else None
    statement.settle_entry = entry
    statement.save(update_fields=["status", "settled_at", "settled_by", "settle_entry"])
    audit.record(
        actor,
        "update",
        statement,
        merchant=statement.merchant_a,
        before={"status": StatementStatus.OPEN},
        after={
            "status": StatementStatus.SETTLED,
            "net": statement.net,
            "settle_entry": entry.pk if entry else None,
        },
        note="settled",
    )
    return statement


def record_export(actor, rows, *, statement=None, filters=None):
    """Audit an .xlsx export of settlement statements: who took which statement or list, how many rows."""
    return audit.record(
        actor,
        "export",
        subject=statement,
        subject_type=None if statement is not None else "loyalty.settlementstatement",
        subject_repr="" if statement is not None else "settlement statements",
        node=actor.node if actor is not None and actor.node_id else None,
        merchant=actor.merchant if actor is not None and actor.node_id else None,
        after={"rows": rows, "filters": filters or {}},
    )


# ---- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLineRow:
    """One underlying journal entry of a statement, as the detail page and the export show it."""

    entry_id: int
    created_at: datetime.datetime
    kind: str
    store: str
    card_number: str
    amount: int
    debtor: str
    creditor: str


def statement_lines(statement) -> list[StatementLineRow]:
    """The statement's entries in time order: who owed whom how much (fen, positive), card number if known."""
    lines = list(
        statement.lines.select_related("entry", "entry__node").order_by("entry__created_at", "entry_id")
    )
    cards = {}
    for entry_id, number in CardTransaction.objects.filter(
        entry_id__in=statement.lines.values("entry_id")
    ).values_list("entry_id", "card__number"):
        cards.setdefault(entry_id, number)
    a, b = statement.party_a_name, statement.party_b_name
    return [
        StatementLineRow(
            entry_id=line.entry_id,
            created_at=line.entry.created_at,
            kind=str(line.entry.get_kind_display()),
            store=line.entry.node.name if line.entry.node_id else "",
            card_number=cards.get(line.entry_id, ""),
            amount=abs(line.amount),
            debtor=a if line.amount >= 0 else b,
            creditor=b if line.amount >= 0 else a,
        )
        for line in lines
    ]
