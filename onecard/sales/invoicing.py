"""Invoice facts (CHINA-RULES, 发票 for stored value): what each top-up and sale may be invoiced for, and what not.

One rule, from the tenders and the card transactions:
- a top-up: its principal under 601 预付卡销售和充值 (不征税); its bonus is value given, never invoiced;
- a top-up paid back (a top-up refund, a cancelled card's payout, a voided top-up): the money paid back,
  negative, under 601 (a red invoice when the top-up was invoiced);
- a sale: under goods and services, what cash, bank card, WeChat and Alipay paid; the stored-value part
  (invoiced at the top-up), the points' cash value (no money received) and a package's part (a
  prepayment) are recorded as not to be invoiced;
- a return: each tender's share given back, with opposite signs;
- a package sold (次卡, 期限卡 — a prepaid card too): its price under 601; paid back: the refund, negative.
The facts are written in the transaction that records the sale, return or card transaction: sales'
services call `record_sale` and `record_return`; a card transaction and a package sale or refund are
heard through post_save (loyalty sits below sales, sales/hooks.py). `record_missing_facts` writes those missing (the migration that
introduced them, `onecard seed-demo` after its backfilled history). Report: sales/invoice_report.py.
"""

from django.apps import apps as installed_apps
from django.db.models import Exists, OuterRef, Q

from onecard.sales.backfill import batches
from onecard.sales.models import InvoiceCategory, InvoiceFact, InvoiceFactKind, TenderKind

NOT_INVOICED = {
    TenderKind.STORED_VALUE: "stored_value",
    TenderKind.POINTS: "points",
    TenderKind.PACKAGE: "package",
}
TOPUP, REFUND, VOID = "topup", "refund", "void"


def tender_parts(tenders, sign=1) -> dict:
    """{amount, invoiceable, stored_value, points, package} of (kind, fen) pairs; `sign` −1 for a return."""
    parts = {"amount": 0, "invoiceable": 0, "stored_value": 0, "points": 0, "package": 0}
    for kind, amount in tenders:
        amount = sign * int(amount or 0)
        parts["amount"] += amount
        parts[NOT_INVOICED.get(kind, "invoiceable")] += amount
    return parts


def record_sale(sale, tenders=None) -> InvoiceFact:
    """The invoice fact of a sale just recorded, from its tenders: `tenders` as (kind, fen) pairs, else read.

    Called once, in the transaction that records the sale (a second fact of one sale is refused by the
    database); the sale's own tenders are passed by the callers that have just written them, so the
    busiest path, a plain charge, reads nothing back.
    """
    return InvoiceFact.objects.create(**sale_fact_fields(sale, tenders))


def record_return(sale_return) -> InvoiceFact:
    """The invoice fact of a return just recorded: each tender's share given back, opposite signs."""
    return InvoiceFact.objects.create(**_return_fields(sale_return))


def card_transaction_fact(tx, original_kind) -> dict | None:
    """The fields of a card transaction's fact: a top-up or a payout of top-up value; None for the others."""
    if tx.kind == TOPUP:
        kind, money, bonus = InvoiceFactKind.TOPUP, tx.principal, tx.bonus
    elif tx.kind == REFUND and original_kind == TOPUP:  # principal paid out, the bonus withdrawn with it
        kind, money, bonus = InvoiceFactKind.TOPUP_REFUND, -tx.amount, -tx.bonus
    elif tx.kind == REFUND and tx.original_id is None:  # a cancelled card's payout: all of it is money paid
        kind, money, bonus = InvoiceFactKind.TOPUP_REFUND, -tx.amount, 0
    elif tx.kind == VOID and original_kind == TOPUP:  # a voided top-up: its money handed back, its bonus gone
        kind, money, bonus = InvoiceFactKind.TOPUP_REFUND, -tx.principal, -tx.bonus
    else:
        return None
    return {
        "kind": kind,
        "merchant_id": tx.store.merchant_id,
        "store_id": tx.store_id,
        "occurred_at": tx.created_at,
        "category": InvoiceCategory.PREPAID,
        "card_transaction_id": tx.pk,
        "amount": money,
        "invoiceable": money,
        "bonus": bonus,
    }


def record_card_transaction(tx) -> InvoiceFact | None:
    """The invoice fact of a top-up or a payout of top-up value (601); nothing for other card transactions."""
    if tx.kind not in (TOPUP, REFUND, VOID):
        return None  # a charge (and its void) is invoiced through its sale; holds move no invoiceable money
    original_kind = tx.original.kind if tx.original_id is not None else None
    fields = card_transaction_fact(tx, original_kind)
    if fields is None:
        return None
    fact = InvoiceFact(**fields)
    fact.card_transaction = tx  # those who hear the fact (analytics) read its transaction without a query
    fact.save()
    return fact


PACKAGE_REFUNDED = "refunded"  # loyalty's MemberPackageStatus.REFUNDED


def package_facts(member_package) -> list[dict]:
    """The fields of a package's facts: its sale (601, at its price) and, once refunded, the payout."""
    common = {
        "merchant_id": member_package.merchant_id,
        "category": InvoiceCategory.PREPAID,
        "member_package_id": member_package.pk,
    }
    facts = [
        {
            **common,
            "kind": InvoiceFactKind.PACKAGE_SALE,
            "store_id": member_package.store_id,
            "occurred_at": member_package.valid_from,
            "amount": member_package.price,
            "invoiceable": member_package.price,
        }
    ]
    if member_package.status == PACKAGE_REFUNDED and member_package.refunded:
        facts.append(
            {
                **common,
                "kind": InvoiceFactKind.PACKAGE_REFUND,
                "store_id": member_package.close_entry.node_id,
                "occurred_at": member_package.closed_at,
                "amount": -member_package.refunded,
                "invoiceable": -member_package.refunded,
            }
        )
    return facts


def record_package(member_package) -> list[InvoiceFact]:
    """The invoice facts of a package sold or refunded that are not written yet (a second call writes none)."""
    written = set(InvoiceFact.objects.filter(member_package=member_package).values_list("kind", flat=True))
    return [
        InvoiceFact.objects.create(**fields)
        for fields in package_facts(member_package)
        if fields["kind"] not in written
    ]


# ---- the facts missing from earlier rows -----------------------------------------------------------------


def record_missing_facts(apps=installed_apps) -> int:
    """Write the facts of every sale, return, top-up and top-up payout that has none; the number written."""
    fact_model = apps.get_model("sales", "InvoiceFact")
    written = 0
    for make, queryset in _missing(apps, fact_model):
        for rows in batches(queryset):
            facts = [fact_model(**fields) for fields in map(make, rows) if fields is not None]
            fact_model.objects.bulk_create(facts)
            written += len(facts)
    return written


def _missing(apps, fact_model):
    sale_model = apps.get_model("sales", "Sale")
    return_model = apps.get_model("sales", "SaleReturn")
    card_tx = apps.get_model("loyalty", "CardTransaction")
    has_sale_fact = Exists(fact_model.objects.filter(sale=OuterRef("pk"), kind=InvoiceFactKind.SALE))
    has_fact = Exists(fact_model.objects.filter(sale_return=OuterRef("pk")))
    has_tx_fact = Exists(fact_model.objects.filter(card_transaction=OuterRef("pk")))
    sales = sale_model.objects.exclude(has_sale_fact).prefetch_related("tenders")
    sale_returns = return_model.objects.exclude(has_fact).select_related("sale")
    card_txs = (
        card_tx.objects.filter(kind__in=(TOPUP, REFUND, VOID))
        .exclude(has_tx_fact)
        .select_related("store", "original")
    )
    return [(sale_fact_fields, sales), (_return_fields, sale_returns), (_card_tx_fields, card_txs)]


def record_missing_package_facts(apps=installed_apps) -> int:
    """Write the facts of every package sale and refund that has none; the number written."""
    fact_model = apps.get_model("sales", "InvoiceFact")
    package_model = apps.get_model("loyalty", "MemberPackage")
    sold = Exists(fact_model.objects.filter(member_package=OuterRef("pk"), kind=InvoiceFactKind.PACKAGE_SALE))
    refunded = Exists(
        fact_model.objects.filter(member_package=OuterRef("pk"), kind=InvoiceFactKind.PACKAGE_REFUND)
    )
    missing = package_model.objects.filter(~sold | (Q(status=PACKAGE_REFUNDED, refunded__gt=0) & ~refunded))
    written = 0
    for rows in batches(missing.select_related("close_entry")):
        have = set(
            fact_model.objects.filter(member_package__in=rows).values_list("member_package_id", "kind")
        )
        facts = [
            fact_model(**fields)
            for row in rows
            for fields in package_facts(row)
            if (row.pk, fields["kind"]) not in have
        ]
        fact_model.objects.bulk_create(facts)
        written += len(facts)
    return written


def sale_fact_fields(sale, tenders=None) -> dict:
    """The fields of a sale's fact, from `tenders` as (kind, fen) pairs, else from the sale's tenders."""
    if tenders is None:
        tenders = [(t.kind, t.amount) for t in sale.tenders.all()]
    return {
        "kind": InvoiceFactKind.SALE,
        "merchant_id": sale.merchant_id,
        "store_id": sale.store_id,
        "occurred_at": sale.created_at,
        "category": InvoiceCategory.GOODS,
        "sale_id": sale.pk,
        **tender_parts(tenders),
    }


def _return_fields(sale_return) -> dict:
    return {
        "kind": InvoiceFactKind.SALE_RETURN,
        "merchant_id": sale_return.sale.merchant_id,
        "store_id": sale_return.store_id,
        "occurred_at": sale_return.created_at,
        "category": InvoiceCategory.GOODS,
        "sale_id": sale_return.sale_id,
        "sale_return_id": sale_return.pk,
        **tender_parts(((row.get("kind"), row.get("amount")) for row in sale_return.tenders or []), sign=-1),
    }


def _card_tx_fields(tx) -> dict | None:
    return card_transaction_fact(tx, tx.original.kind if tx.original_id is not None else None)
