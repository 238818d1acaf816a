"""Reads of the member classes for the pages: distributions, the month-to-month migration matrix, the lists behind them.

Every read starts from the members the user may see (members.queries.visible_members), so a store
manager's counts and lists hold their store's members only. The page's figures are the sums of the cells
counted after the last scoring (analytics.page_counts: `class_distributions`, `counted_migration_matrix`),
with the same definitions as the live counts `distribution` and `migration_matrix` below; the lists behind
them are read live.
"""

import datetime

from django.db.models import Count, OuterRef, Subquery, Sum

from onecard.analytics.choices import AbcdClass, LifeStage, RfmClass
from onecard.analytics.models import ClassCell, ClassMoveCell, MemberClassSnapshot, MemberFacts
from onecard.analytics.page_counts import cells_in_scope
from onecard.members.queries import visible_members

# The class fields a page may group or filter by, with their choices.
CLASS_FIELDS = {"rfm_class": RfmClass, "abcd_class": AbcdClass, "life_stage": LifeStage}


def visible_facts(user, merchant):
    """The facts of the merchant's members in the user's scope."""
    return MemberFacts.objects.filter(
        merchant=merchant, member__in=visible_members(user).filter(merchant=merchant)
    )


def distribution(facts, field: str) -> list[dict]:
    """[{value, label, count, percent}] of `field` over `facts`, every class listed (0 where none)."""
    return _distribution_rows(dict(facts.order_by().values_list(field).annotate(n=Count("pk"))), field)


def class_distributions(user, merchant) -> dict:
    """{field: distribution rows} of the three class fields, summed from the cells of the stores in scope."""
    cells = (
        cells_in_scope(ClassCell, user, merchant)
        .order_by()
        .values_list("rfm_class", "abcd_class", "life_stage")
        .annotate(n=Sum("members"))
    )
    counts = {field: {} for field in CLASS_FIELDS}
    for rfm, abcd, stage, n in cells:
        for field, value in zip(CLASS_FIELDS, (rfm, abcd, stage), strict=True):
            counts[field][value] = counts[field].get(value, 0) + n
    return {field: _distribution_rows(counts[field], field) for field in CLASS_FIELDS}


def _distribution_rows(counts: dict, field: str) -> list[dict]:
    choices = CLASS_FIELDS[field]
    total = sum(counts.values())
    return [
        {
            "value": value,
            "label": label,
            "count": counts.get(value, 0),
            "percent": round(100 * counts.get(value, 0) / total, 1) if total else 0,
        }
        for value, label in choices.choices
    ]


def counted_snapshot_months(state) -> list[datetime.date]:
    """The months that had a snapshot at the last refresh of the counts (`state`), newest first."""
    return [datetime.date.fromisoformat(text) for text in state.snapshot_months]


def snapshot_months(merchant) -> list[datetime.date]:
    """The months that have a snapshot, newest first."""
    return list(
        MemberClassSnapshot.objects.filter(merchant=merchant)
        .order_by("-month")
        .values_list("month", flat=True)
        .distinct()
    )


def migration_matrix(user, merchant, month: datetime.date, previous: datetime.date, field: str) -> dict:
    """How many members moved from each class at `previous` to each class at `month` (members in scope)."""
    before = MemberClassSnapshot.objects.filter(member=OuterRef("member"), month=previous).values(field)[:1]
    rows = (
        MemberClassSnapshot.objects.filter(
            merchant=merchant, month=month, member__in=visible_members(user).filter(merchant=merchant)
        )
        .annotate(was=Subquery(before))
        .order_by()
        .values_list("was", field)
        .annotate(n=Count("pk"))
    )
    cells = {}
    for was, now, n in rows:  # no snapshot before (None) and an empty class then ("") are one row, "—"
        cells[(was or "", now or "")] = cells.get((was or "", now or ""), 0) + n
    return _matrix_rows(cells, field)


def counted_migration_matrix(user, merchant, month: datetime.date, field: str) -> dict:
    """migration_matrix of `month` against the month before, summed from the cells of the stores in scope."""
    rows = (
        cells_in_scope(ClassMoveCell, user, merchant)
        .filter(month=month, field=field)
        .order_by()
        .values_list("was", "now")
        .annotate(n=Sum("members"))
    )
    return _matrix_rows({(was, now): n for was, now, n in rows}, field)


def _matrix_rows(cells: dict, field: str) -> dict:
    choices = CLASS_FIELDS[field]
    labels = [("", "—")] + list(choices.choices)
    return {
        "columns": labels,
        "rows": [
            {
                "value": was,
                "label": was_label,
                "cells": [{"value": now, "count": cells.get((was, now), 0)} for now, _label in labels],
                "total": sum(cells.get((was, now), 0) for now, _label in labels),
            }
            for was, was_label in labels
        ],
        "total": sum(cells.values()),
    }


def members_in_class(user, merchant, field: str, value: str, *, month=None, was=None, previous=None):
    """The facts of the members in scope in class `value` (now, or at `month`; moved from `was` at `previous`)."""
    facts = visible_facts(user, merchant).select_related("member", "favourite_store")
    if month is None:
        return facts.filter(**{field: value}).order_by("-spend", "member_id")
    at_month = MemberClassSnapshot.objects.filter(merchant=merchant, month=month, **{field: value})
    if previous is not None and was is not None:
        earlier = MemberClassSnapshot.objects.filter(merchant=merchant, month=previous)
        if was:
            at_month = at_month.filter(member__in=earlier.filter(**{field: was}).values("member"))
        else:
            at_month = at_month.exclude(member__in=earlier.exclude(**{field: ""}).values("member"))
    return facts.filter(member__in=at_month.values("member")).order_by("-spend", "member_id")
