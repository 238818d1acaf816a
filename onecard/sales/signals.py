"""What the sales services announce, in the transaction that records it, for the apps above (analytics).

Sent after the rows are written, so a receiver reads them as they will be committed; a receiver that
raises undoes the sale with everything else.
"""

from django.dispatch import Signal

# A sale was recorded. kwargs: sale (Sale), lines (list of its SaleLine rows).
sale_recorded = Signal()

# A sale was returned in whole or part. kwargs: sale (Sale, returned_due already counted), sale_return
# (SaleReturn), lines (list of (SaleLine, units returned, due returned)).
sale_returned = Signal()

# Sales were imported from another system (dated in the past, no money moved). kwargs: merchant_id,
# member_ids (set of the members whose purchase history changed).
sales_imported = Signal()
