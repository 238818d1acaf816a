"""core.rows: raw-SQL rows into model instances (as the ORM converts them) and into plain dataclasses."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from onecard.core import rows
from onecard.members.models import Member

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class GroupRow:
    """A group's id and name, in the order the test selects them."""

    id: int
    name: str


def test_one_and_every_turn_rows_into_the_dataclass():
    # given: two groups
    first, second = Group.objects.create(name="收银"), Group.objects.create(name="店长")
    sql = f"SELECT {', '.join(rows.columns_of(GroupRow))} FROM {rows.table(Group)} ORDER BY id"
    # when
    with connection.cursor() as cursor:
        cursor.execute(sql)
        head = rows.one(cursor, GroupRow)
        rest = rows.every(cursor, GroupRow)
        after = rows.one(cursor, GroupRow)
    # then
    assert head == GroupRow(first.pk, "收银")
    assert rest == [GroupRow(second.pk, "店长")]
    assert after is None


def test_instance_converts_as_the_orm_and_defers_what_was_not_read():
    # given: a group, read by hand with only its name
    group = Group.objects.create(name="会员")
    names = ("name",)
    sql = f"SELECT {rows.column_list(Group, 'g', names)} FROM {rows.table(Group)} g WHERE g.id = %s"
    # when
    with connection.cursor() as cursor:
        cursor.execute(sql, [group.pk])
        row = cursor.fetchone()
    loaded = rows.instance(Group, row, names)
    # then
    assert rows.width(Group, names) == 2  # the primary key is always read
    assert (loaded.pk, loaded.name) == (group.pk, "会员")
    assert loaded._state.adding is False and loaded.get_deferred_fields() == set()


def test_instance_of_a_left_join_that_found_nothing_is_none():
    # given / when / then
    assert rows.instance(Group, (None, None), ("name",)) is None


def test_value_converts_one_column_as_the_orm():
    # given: a raw text value of a date column, as SQLite hands it back, and a missing one
    # when / then
    assert str(rows.value(Member, "birthday", "1990-02-28")) == "1990-02-28"
    assert rows.value(Member, "birthday", None) is None


def test_insert_many_writes_what_the_orm_reads_back_in_batches():
    from django.test.utils import CaptureQueriesContext

    from onecard.org.models import Merchant, Role

    # given: a merchant (its created_at stamped on insert) and five roles, JSON and a foreign key among them
    merchant = Merchant(name="一卡通测试", code="rows-test")
    rows.insert(merchant)
    roles = [
        Role(name=f"角色{i}", merchant_id=merchant.pk, permissions=["till.operate", f"p{i}"], description="")
        for i in range(5)
    ]
    # when: they are inserted two rows to a statement
    with CaptureQueriesContext(connection) as captured:
        rows.insert_many(roles, batch=2)
    # then: three INSERTs, and the ORM reads every value back as written
    assert [q["sql"].split(" ", 2)[:2] for q in captured.captured_queries] == [["INSERT", "INTO"]] * 3
    stored = list(
        Role.objects.filter(merchant_id=merchant.pk).order_by("name").values_list("name", "permissions")
    )
    assert stored == [(f"角色{i}", ["till.operate", f"p{i}"]) for i in range(5)]
    assert Merchant.objects.get(pk=merchant.pk).created_at is not None
    # and: the instances count as saved, as after bulk_create
    assert not any(role._state.adding for role in roles)
    # and: nothing at all is a no-op
    rows.insert_many([])
