"""The plain-SQL reads of the promotions (a quote's products and coupons) turn their rows into models here.

Built with the ORM, those two queries (OR-ed lookups, EXISTS subqueries, joins) cost several times
more to compile than to run, so `catalog.queries.products_for_codes` and `coupon_redemption.sort_codes` write
their SQL by hand; the row helper they use is core's one (`onecard.core.rows`).
"""

from onecard.core.rows import column, column_list, fields, instance, table

__all__ = ["column", "column_list", "fields", "instance", "table"]
