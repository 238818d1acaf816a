"""The import itself, run in the background: check the file again and write every sale in one transaction.

All or nothing: one row with an error and nothing is written. An imported sale moves no money: no tenders,
no ledger entry, no points, no invoice fact; it is kind "imported", dated when it was made.
"""

import logging

from django.utils.translation import gettext as _

from onecard.core.errors import BusinessError
from onecard.core.rows import insert_many
from onecard.members.importing.lifecycle import ImportRun
from onecard.org.models import Merchant

from ..models import Sale, SaleImport, SaleKind, SaleLine
from ..signals import sales_imported
from .checking import check_rows
from .progress import SALES_IMPORTS

logger = logging.getLogger(__name__)

UNITEMISED_LINE_NAME = "历史消费"
WRITE_BATCH = 500


def split_due(amount, items):
    """Each item's share of `amount` (fen), in proportion to its list price × units, by cumulative floors.

    The shares add up to `amount` exactly; the last item takes no more rounding than any other.
    """
    weights = [product.list_price * quantity for product, quantity in items]
    total, shares, before, running = sum(weights), [], 0, 0
    for weight in weights:
        running += weight
        upto = amount * running // total
        shares.append(upto - before)
        before = upto
    return shares


def _sale_and_lines(job, actor, row):
    sale = Sale(
        kind=SaleKind.IMPORTED,
        merchant_id=job.merchant_id,
        store=row.store,
        member_id=row.member_id,
        card=None,
        actor=actor,
        business_ref=f"{job.business_ref_prefix}{row.number}",
        list_total=row.amount,
        discount_total=0,
        total_due=row.amount,
        created_at=row.created_at,
    )
    if row.items is None:
        lines = [
            SaleLine(
                key="1",
                sku="",
                name=UNITEMISED_LINE_NAME,
                quantity=row.quantity,
                list_total=row.amount,
                due=row.amount,
            )
        ]
    else:
        lines = [
            SaleLine(
                key=str(index),
                product=product,
                sku=product.sku,
                name=product.name,
                quantity=quantity,
                list_total=due,
                due=due,
            )
            for index, ((product, quantity), due) in enumerate(
                zip(row.items, split_due(row.amount, row.items), strict=True), start=1
            )
        ]
    return sale, lines


def write_sales(job, actor, rows, *, progress=None):
    """Insert the sales of `rows` and their lines (batches of multi-row INSERTs); the member ids they touch."""
    written = 0
    for start in range(0, len(rows), WRITE_BATCH):
        pairs = [_sale_and_lines(job, actor, row) for row in rows[start : start + WRITE_BATCH]]
        sales = Sale.objects.bulk_create([sale for sale, _lines in pairs])  # keys read back for the lines
        lines = []
        for sale, (_sale, sale_lines) in zip(sales, pairs, strict=True):
            for line in sale_lines:
                line.sale_id = sale.pk
                lines.append(line)
        insert_many(lines)
        written += len(pairs)
        if progress is not None:
            progress(written, len(rows))
    return {row.member_id for row in rows}


def _refuse_errors(result):
    if result.errors:
        raise BusinessError(
            _("%(n)s rows have errors. Fix them in the file and import it again.") % {"n": result.error_rows},
            code="import_has_errors",
        )


class SalesImportRun(ImportRun):
    """A sales import's run: all or nothing, one row with an error and no sale is written (module doc)."""

    model = SaleImport
    progress = SALES_IMPORTS
    check_rows = staticmethod(check_rows)
    logger = logger
    log_message = "Sales import %s failed"

    def write(self):
        """Re-check, write every sale, mark the job done and tell the analyses whose purchases changed."""
        job = self.job
        # Two imports of one merchant queue here, so the second sees the first's sales as imported
        # before (SQLite's BEGIN IMMEDIATE already serialises; no_key leaves inserts that name the
        # merchant free to run).
        Merchant.objects.select_for_update(no_key=True).filter(pk=job.merchant_id).first()
        result = self.check_again()
        _refuse_errors(result)
        self.importing(0, len(result.rows))
        member_ids = write_sales(job, self.actor, result.rows, progress=self.importing)
        counts = {
            "total_rows": result.total,
            "valid_rows": len(result.rows),
            "error_rows": 0,
            "skipped_rows": len(result.skipped),
            "imported_rows": len(result.rows),
            "imported_amount": result.amount,
        }
        note = _("%(n)s sales imported from %(file)s") % {"n": len(result.rows), "file": job.original_name}
        self.finish(counts, note, errors=[], skipped=result.skipped, message="")
        if member_ids:
            sales_imported.send(sender=SaleImport, merchant_id=job.merchant_id, member_ids=member_ids)

    def failed_fields(self):
        """No amount imported; the report shows the file as it was checked now, if it got that far."""
        fields = {"imported_amount": 0}
        result = self.result
        if result is not None:
            fields.update(
                errors=result.errors,
                skipped=result.skipped,
                error_rows=result.error_rows,
                skipped_rows=len(result.skipped),
                valid_rows=len(result.rows),
                total_rows=result.total,
            )
        return fields


def run_import(job_id, actor_id):
    """Check the file against the database as it is now and write every sale in one transaction (module doc).

    Called by the background task. Anything that goes wrong rolls everything back and marks the job failed.
    """
    return SalesImportRun.run(job_id, actor_id)
