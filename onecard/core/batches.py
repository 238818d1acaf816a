"""Reading many rows a batch at a time, for the jobs that walk a whole table."""


def rows_in_pk_batches(queryset, size):
    """Every row of `queryset` in primary-key order, fetched `size` rows at a time.

    Each batch starts after the last key seen (not at an offset), so rows the caller changes or closes
    meanwhile neither shift the next batch nor are read twice.
    """
    after = 0
    while True:
        chunk = list(queryset.filter(pk__gt=after).order_by("pk")[:size])
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].pk
