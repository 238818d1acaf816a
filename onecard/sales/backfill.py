"""The sales of payments made without one: charges, captures and package uses recorded by loyalty alone.

Before the sales app recorded every payment, only checkouts made a sale; loyalty's own demo history
still charges through loyalty directly. `record_earlier_payments` gives each such payment the sale
that sales.services would have recorded (a refund of a charge becomes a return), dated with the
payment; running it again finds nothing to do. Migration sales 0003 runs it with its historical
models, `onecard seed-demo` with the current ones.
"""

from django.apps import apps as installed_apps
from django.db.models import Exists, F, OuterRef, Subquery

BATCH = 500
CHARGE_LINE_NAMES = {"charge": "消费", "capture": "预授权消费"}
# Who and where of a recorded sale, read off its payment under these names.
PARTIES = ("merchant_id", "store_id", "card_id", "member_id", "actor_id", "business_ref")


def batches(queryset):
    """Lists of up to BATCH rows of `queryset` (dicts with "pk", or models), by primary key; each batch is
    read after the last was written."""
    after = 0
    while True:
        rows = list(queryset.filter(pk__gt=after).order_by("pk")[:BATCH])
        if not rows:
            return
        yield rows
        after = rows[-1]["pk"] if isinstance(rows[-1], dict) else rows[-1].pk


def card_payment_sales(apps):
    """One sale per charge or capture without one, and a return per refund of it."""
    card_tx = apps.get_model("loyalty", "CardTransaction")
    sale_model = apps.get_model("sales", "Sale")
    line_model = apps.get_model("sales", "SaleLine")
    tender_model = apps.get_model("sales", "SaleTender")
    tendered = tender_model.objects.filter(card_transaction=OuterRef("pk"))
    pending = (
        card_tx.objects.filter(kind__in=("charge", "capture"))
        .exclude(Exists(tendered))
        .values(
            "pk", "kind", "store_id", "card_id", "member_id", "actor_id", "business_ref", "list_amount",
            "amount", "discount", "bonus", merchant_id=F("store__merchant_id"),
        )
    )  # fmt: skip
    for rows in batches(pending):
        sales = sale_model.objects.bulk_create(
            sale_model(
                kind=row["kind"],
                **{name: row[name] for name in PARTIES},
                list_total=row["list_amount"] or row["amount"],
                discount_total=row["discount"],
                total_due=row["amount"],
            )
            for row in rows
        )
        lines = line_model.objects.bulk_create(
            line_model(
                sale=sale,
                key=row["kind"],
                sku="",
                name=CHARGE_LINE_NAMES[row["kind"]],
                quantity=1,
                list_total=row["list_amount"] or row["amount"],
                adjustments=[],
                due=row["amount"],
            )
            for sale, row in zip(sales, rows, strict=True)
        )
        tenders = tender_model.objects.bulk_create(
            tender_model(
                sale=sale,
                kind="stored_value",
                amount=row["amount"],
                bonus=row["bonus"],
                card_transaction_id=row["pk"],
            )
            for sale, row in zip(sales, rows, strict=True)
        )
        _returns(
            apps,
            {
                row["pk"]: (sale, line, tender)
                for sale, line, tender, row in zip(sales, lines, tenders, rows, strict=True)
            },
        )
        # auto_now_add stamped them now; a sale is dated when its money moved.
        made_at = tender_model.objects.filter(sale=OuterRef("pk")).values("card_transaction__created_at")[:1]
        sale_model.objects.filter(pk__in=[sale.pk for sale in sales]).update(created_at=Subquery(made_at))


def _returns(apps, sales_of):
    """A return per refund of the charges in `sales_of` {charge id: (sale, line, tender)}, in refund order."""
    card_tx = apps.get_model("loyalty", "CardTransaction")
    sale_model = apps.get_model("sales", "Sale")
    line_model = apps.get_model("sales", "SaleLine")
    tender_model = apps.get_model("sales", "SaleTender")
    return_model = apps.get_model("sales", "SaleReturn")
    return_line_model = apps.get_model("sales", "SaleReturnLine")
    refunds = card_tx.objects.filter(kind="refund", original_id__in=list(sales_of)).order_by("pk")
    changed = {}
    for refund in refunds:
        sale, line, tender = sales_of[refund.original_id]
        line.returned_due += refund.amount
        units = line.quantity - line.returned_quantity if line.returned_due >= line.due else 0
        line.returned_quantity += units
        tender.returned_amount += refund.amount
        sale.returned_due += refund.amount
        changed[sale.pk] = (sale, line, tender)
        sale_return = return_model.objects.create(
            sale=sale,
            store_id=refund.store_id,
            actor_id=refund.actor_id,
            reason=refund.reason,
            amount=refund.amount,
            tenders=[
                {
                    "tender": tender.pk,
                    "kind": "stored_value",
                    "amount": refund.amount,
                    "card_transaction": refund.pk,
                }
            ],
            points_taken_back=refund.points_reversed + refund.rebate_points,
            points_shortfall=refund.points_shortfall,
        )
        return_model.objects.filter(pk=sale_return.pk).update(created_at=refund.created_at)
        return_line_model.objects.create(
            sale_return=sale_return, line=line, quantity=units, due=refund.amount
        )
    if changed:
        sale_model.objects.bulk_update([s for s, _l, _t in changed.values()], ["returned_due"])
        line_model.objects.bulk_update(
            [ln for _s, ln, _t in changed.values()], ["returned_due", "returned_quantity"]
        )
        tender_model.objects.bulk_update([t for _s, _l, t in changed.values()], ["returned_amount"])


def package_use_sales(apps):
    """One sale per package use without one: a line for the service, a package tender for its value."""
    use_model = apps.get_model("loyalty", "PackageUse")
    sale_model = apps.get_model("sales", "Sale")
    line_model = apps.get_model("sales", "SaleLine")
    tender_model = apps.get_model("sales", "SaleTender")
    pending = (
        use_model.objects.exclude(Exists(line_model.objects.filter(package_use=OuterRef("pk"))))
        .values(
            "pk", "store_id", "actor_id", "business_ref", "member_package_id", "member_package__name", "service",
            "count", "value", merchant_id=F("store__merchant_id"), card_id=F("member_package__card_id"),
            member_id=F("member_package__card__member_id"),
        )
    )  # fmt: skip
    for rows in batches(pending):
        sales = sale_model.objects.bulk_create(
            sale_model(
                kind="package_use",
                **{name: row[name] for name in PARTIES},
                list_total=row["value"],
                discount_total=0,
                total_due=row["value"],
            )
            for row in rows
        )
        line_model.objects.bulk_create(
            line_model(
                sale=sale,
                key=f"package:{row['member_package_id']}",
                package_use_id=row["pk"],
                sku="",
                name=f"{row['member_package__name']} · {row['service']}"[:200],
                quantity=row["count"],
                list_total=row["value"],
                adjustments=[],
                due=row["value"],
            )
            for sale, row in zip(sales, rows, strict=True)
        )
        tender_model.objects.bulk_create(
            tender_model(sale=sale, kind="package", amount=row["value"])
            for sale, row in zip(sales, rows, strict=True)
            if row["value"]
        )
        made_at = line_model.objects.filter(sale=OuterRef("pk")).values("package_use__created_at")[:1]
        sale_model.objects.filter(pk__in=[sale.pk for sale in sales]).update(created_at=Subquery(made_at))


def record_earlier_payments(apps=installed_apps) -> None:
    """A sale for every charge, capture and package use that has none; `apps`: a migration's models, or today's."""
    card_payment_sales(apps)
    package_use_sales(apps)
