"""The report builder: each dataset's groupings and totals against pandas over the same generated rows,
scoping, and the refusal of bad definitions. The pages, sharing, export and pinning: test_report_builder_pages.py."""

import datetime
import random

import pandas as pd
import pytest
from django.utils import translation

from onecard.analytics.models import MemberFacts, SavedReport
from onecard.analytics.report_builder import services
from onecard.analytics.report_builder.definition import validate
from onecard.analytics.report_builder.runner import run
from onecard.analytics.tests.report_builder_data import SHANGHAI, URL, local, make_sales, run_raw, table
from onecard.catalog import services as catalog_services
from onecard.core.errors import ValidationFailed
from onecard.loyalty.models import CardTransaction
from onecard.promotions.models import Coupon
from onecard.sales.models import Sale, SaleLine
from onecard.testing.coupons import make_template
from onecard.testing.stored_value import sv_card

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def sales(chain):
    return make_sales(chain)


def test_sales_by_month_and_store_sum_and_count_as_pandas(chain, sales):
    """Given sixty-one sales at three stores, when head office groups them by month and store with a count and
    the sums of amount due and discount, then every figure equals pandas over the same rows (local months)."""
    result = run_raw(
        chain.hq_admin,
        chain.merchant,
        {
            "dataset": "sales",
            "group_by": [{"field": "date", "trunc": "month"}, {"field": "store"}],
            "aggregates": [
                {"fn": "count"},
                {"fn": "sum", "field": "total_due"},
                {"fn": "sum", "field": "discount"},
            ],
        },
    )

    frame = pd.DataFrame(sales)
    frame["month"] = frame["at"].map(lambda t: t.astimezone(SHANGHAI).date().replace(day=1))
    expected = (
        frame.groupby(["month", "store"])
        .agg(n=("total_due", "size"), due=("total_due", "sum"), discount=("discount", "sum"))
        .reset_index()
        .sort_values(["month", "store"])
    )
    assert table(result) == [
        (r.month, r.store, r.n, r.due, r.discount) for r in expected.itertuples(index=False)
    ]
    assert [c.key for c in result.columns] == [
        "date_month",
        "store",
        "count",
        "sum_total_due",
        "sum_discount",
    ]
    april_a1 = [row for row in table(result) if row[0] == datetime.date(2026, 4, 1) and row[1] == "徐汇店"]
    assert april_a1 and april_a1[0][2] >= 1  # the 00:30 sale of 1 April (UTC: 31 March) is April's


def test_sales_filters_by_date_range_money_and_store_as_pandas(chain, sales):
    """Given the sales, when filtered to March 2026, amount due over ¥100.00 and stores A1 or B1, then the total
    and the count equal pandas; "last 30 days" counts the sales of today and the 29 days before."""
    raw = {
        "dataset": "sales",
        "filters": [
            {"field": "date", "op": "between", "value": ["2026-03-01", "2026-03-31"]},
            {"field": "total_due", "op": "gt", "value": 10_000},
            {"field": "store", "op": "in", "value": ["徐汇店", "朝阳店"]},
        ],
        "aggregates": [
            {"fn": "count"},
            {"fn": "sum", "field": "total_due"},
            {"fn": "avg", "field": "total_due"},
        ],
    }
    frame = pd.DataFrame(sales)
    local_day = frame["at"].map(lambda t: t.astimezone(SHANGHAI).date())
    picked = frame[
        (local_day >= datetime.date(2026, 3, 1))
        & (local_day <= datetime.date(2026, 3, 31))
        & (frame["total_due"] > 10_000)
        & frame["store"].isin(["徐汇店", "朝阳店"])
    ]
    assert len(picked) > 2

    [(count, total, average)] = table(run_raw(chain.hq_admin, chain.merchant, raw))

    assert (count, total) == (len(picked), int(picked["total_due"].sum()))
    assert average == int((picked["total_due"].mean() + 0.5) // 1)

    recent = sales[0]["sale"]
    Sale.objects.filter(pk=recent.pk).update(created_at=datetime.datetime.now(datetime.UTC))
    last_30 = {"dataset": "sales", "filters": [{"field": "date", "op": "last_days", "value": 30}]}
    [(n,)] = table(run_raw(chain.hq_admin, chain.merchant, {**last_30, "aggregates": [{"fn": "count"}]}))
    assert n == 1


def test_sale_lines_by_category_as_pandas(chain, cat, sales):
    """Given lines of two products in two categories and unitemised lines, when grouped by category with the
    sums of units and amount due and the average units per line, then the figures equal pandas (lines without a
    product under no category)."""
    biscuit = catalog_services.create_product(
        None, chain.merchant, sku="BIS-1", name="饼干", category=cat.food, list_price=800
    )
    rng = random.Random(11)
    rows = []
    for n, sale in enumerate(s["sale"] for s in sales):
        product = [cat.product, biscuit, None][n % 3]
        quantity, due = rng.randrange(1, 6), rng.randrange(100, 5000)
        SaleLine.objects.create(
            sale=sale,
            key=f"l{n}",
            product=product,
            sku=product.sku if product else "",
            name=product.name if product else "消费",
            quantity=quantity,
            list_total=due,
            due=due,
        )
        rows.append(
            {"category": product.category.name if product else None, "quantity": quantity, "due": due}
        )

    result = run_raw(
        chain.hq_admin,
        chain.merchant,
        {
            "dataset": "sale_lines",
            "group_by": [{"field": "category"}],
            "aggregates": [
                {"fn": "sum", "field": "quantity"},
                {"fn": "sum", "field": "due"},
                {"fn": "avg", "field": "quantity"},
            ],
            "order": [{"column": "sum_due", "desc": True}],
        },
    )

    expected = (
        pd.DataFrame(rows)
        .groupby("category", dropna=False)
        .agg(units=("quantity", "sum"), due=("due", "sum"), per_line=("quantity", "mean"))
        .reset_index()
        .sort_values("due", ascending=False)
    )
    assert table(result) == [
        (None if pd.isna(r.category) else r.category, r.units, r.due, round(r.per_line, 2))
        for r in expected.itertuples(index=False)
    ]
    assert {row[0] for row in table(result)} == {"茶饮", "食品", None}


def test_members_by_rfm_class_with_facts_as_pandas(chain, member_factory):
    """Given members with purchase facts in three RFM classes and one member without facts, when grouped by RFM
    class with a count, total and average spend and the sum of visits, then the figures equal pandas."""
    rng = random.Random(5)
    classes = ["important_value", "general_keep", "important_win_back"]
    rows = []
    for n in range(15):
        member = member_factory(store=[chain.a1, chain.b1][n % 2])
        facts = {
            "spend": rng.randrange(0, 200_000),
            "visits": rng.randrange(0, 30),
            "rfm_class": classes[n % 3],
        }
        MemberFacts.objects.create(member=member, merchant=chain.merchant, purchases=facts["visits"], **facts)
        rows.append(facts)
    member_factory(store=chain.a2)  # no facts yet: an empty class, nothing spent
    rows.append({"spend": None, "visits": None, "rfm_class": None})

    result = run_raw(
        chain.hq_admin,
        chain.merchant,
        {
            "dataset": "members",
            "group_by": ["rfm_class"],
            "aggregates": [
                {"fn": "count"},
                {"fn": "sum", "field": "spend"},
                {"fn": "avg", "field": "spend"},
                {"fn": "sum", "field": "visits"},
            ],
            "order": [{"column": "count", "desc": True}, {"column": "sum_spend"}],
        },
    )

    frame = pd.DataFrame(rows)
    frame["rfm_class"] = frame["rfm_class"].fillna("")
    expected = {
        cls: (len(g), int(g["spend"].sum()), int((g["spend"].mean() + 0.5) // 1), int(g["visits"].sum()))
        for cls, g in frame[frame["rfm_class"] != ""].groupby("rfm_class")
    }
    got = {row[0]: row[1:] for row in table(result)}
    assert {k: v for k, v in got.items() if k} == expected
    assert got[None] == (1, None, None, None)


def test_card_movements_by_kind_and_store_as_pandas(chain, member_factory):
    """Given top-ups, charges and refunds on two cards at three stores, when grouped by kind and store with a
    count and the sums of amount and principal, then the figures equal pandas."""
    members = [member_factory(store=chain.a1), member_factory(store=chain.b1)]
    cards = [sv_card(chain, m) for m in members]
    assert not CardTransaction.objects.exists()
    rng = random.Random(3)
    rows = []
    for n in range(40):
        kind, store = rng.choice(["topup", "charge", "refund"]), rng.choice([chain.a1, chain.a2, chain.b1])
        amount = rng.randrange(100, 100_000)
        principal = amount - rng.randrange(0, amount // 4 + 1)
        card = cards[n % 2]
        CardTransaction.objects.create(
            kind=kind, card=card, member=card.member, store=store, amount=amount, principal=principal
        )
        rows.append({"kind": kind, "store": store.name, "amount": amount, "principal": principal})

    result = run_raw(
        chain.hq_admin,
        chain.merchant,
        {
            "dataset": "card_movements",
            "group_by": [{"field": "kind"}, {"field": "store"}],
            "aggregates": [
                {"fn": "count"},
                {"fn": "sum", "field": "amount"},
                {"fn": "max", "field": "principal"},
            ],
        },
    )

    expected = (
        pd.DataFrame(rows)
        .groupby(["kind", "store"])
        .agg(n=("amount", "size"), amount=("amount", "sum"), top=("principal", "max"))
        .reset_index()
        .sort_values(["kind", "store"])
    )
    assert table(result) == [
        (r.kind, r.store, r.n, r.amount, r.top) for r in expected.itertuples(index=False)
    ]


def test_coupons_by_template_and_status_as_pandas(chain, member_factory):
    """Given coupons of two templates in three states, when grouped by template and status with a count and the
    sum of uses left, then the figures equal pandas."""
    templates = [make_template(chain, name="满100减20"), make_template(chain, name="新人券")]
    members = [member_factory(store=chain.a1), member_factory(store=chain.b1)]
    rng = random.Random(9)
    rows = []
    start = local(2026, 3, 1)
    for n in range(30):
        template, status = templates[n % 2], rng.choice(["issued", "redeemed", "expired"])
        uses = rng.randrange(0, 4)
        Coupon.objects.create(
            template=template,
            merchant=chain.merchant,
            member=members[n % 2] if n % 5 else None,
            code=f"RB{n:05d}",
            status=status,
            valid_from=start,
            valid_until=start + datetime.timedelta(days=30),
            uses_left=uses,
        )
        rows.append({"template": template.name, "status": status, "uses": uses})

    result = run_raw(
        chain.hq_admin,
        chain.merchant,
        {
            "dataset": "coupons",
            "group_by": [{"field": "template"}, {"field": "status"}],
            "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "uses_left"}],
        },
    )

    expected = (
        pd.DataFrame(rows)
        .groupby(["template", "status"])
        .agg(n=("uses", "size"), uses=("uses", "sum"))
        .reset_index()
        .sort_values(["template", "status"])
    )
    assert table(result) == [(r.template, r.status, r.n, r.uses) for r in expected.itertuples(index=False)]
    with translation.override("en"):
        texts = [result.texts(row) for row in result.rows]
    assert {t[1] for t in texts} <= {"Issued", "Redeemed", "Expired"}  # choices shown by label


# ---- scope ---------------------------------------------------------------------------------------------------


def test_one_saved_definition_sums_the_store_for_its_manager_and_everything_for_head_office(chain, sales):
    """Given a report of total amount due saved by A1's manager, when A1's manager and head office run it, then
    the manager's total is A1's sales alone and head office's is every store's."""
    raw = {"dataset": "sales", "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "total_due"}]}
    report = services.save_report(chain.store_manager, chain.merchant, name="总销售额", definition=raw)
    frame = pd.DataFrame(sales)
    definition = validate(report.definition)

    [(a1_count, a1_total)] = table(run(definition, chain.store_manager, report.merchant))
    [(all_count, all_total)] = table(run(definition, chain.hq_admin, report.merchant))

    a1 = frame[frame["store"] == "徐汇店"]
    assert (a1_count, a1_total) == (len(a1), int(a1["total_due"].sum()))
    assert (all_count, all_total) == (len(frame), int(frame["total_due"].sum()))
    assert a1_total < all_total


def test_a_store_manager_lists_only_the_members_of_their_store(chain, member_factory):
    """Given members at A1 and B1, when A1's manager lists members, then only A1's appear."""
    member_factory(store=chain.a1, name="甲")
    member_factory(store=chain.b1, name="乙")

    rows = table(
        run_raw(chain.store_manager, chain.merchant, {"dataset": "members", "fields": ["name", "home_store"]})
    )

    assert rows == [("甲", "徐汇店")]


def test_phone_numbers_are_masked_unless_the_viewer_may_reveal_them(chain, member_factory):
    """Given a member at A1, when the marketer (no members.reveal_pii) lists phones, then they are masked; A1's
    manager, who may reveal them, sees them in full."""
    member_factory(store=chain.a1, phone="13912345678")
    raw = {"dataset": "members", "fields": ["phone"]}

    assert table(run_raw(chain.marketer, chain.merchant, raw)) == [("139****5678",)]
    assert table(run_raw(chain.store_manager, chain.merchant, raw)) == [("13912345678",)]


# ---- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"dataset": "sales", "fields": ["password"]}, "has no field “password”"),
        ({"dataset": "sales", "fields": ["store__merchant__name"]}, "has no field"),
        ({"dataset": "orders", "fields": ["date"]}, "Choose a dataset"),
        (
            {"dataset": "sales", "filters": [{"field": "total_due", "op": "gt", "value": "1; DROP"}]},
            "not a valid",
        ),
        (
            {
                "dataset": "sales",
                "filters": [{"field": "date", "op": "between", "value": ["2026-13-01", "x"]}],
            },
            "date",
        ),
        ({"dataset": "sales", "filters": [{"field": "kind", "op": "eq", "value": "gift"}]}, "not a valid"),
        (
            {"dataset": "sales", "filters": [{"field": "store", "op": "gt", "value": "A"}]},
            "cannot be filtered",
        ),
        ({"dataset": "sales", "aggregates": [{"fn": "sum", "field": "store"}]}, "Only numbers"),
        ({"dataset": "sales", "group_by": [{"field": "total_due"}]}, "cannot be grouped"),
        ({"dataset": "sales", "fields": ["date"], "order": [{"column": "id"}]}, "Sort by one of"),
        ({"dataset": "sales", "fields": []}, "Pick at least one"),
    ],
)
def test_a_bad_definition_is_refused_and_nothing_is_saved(chain, raw, says):
    """Given a definition naming something outside the catalogue or a bad value, when it is saved, then it is
    refused with a message saying what is wrong and no report is stored."""
    with pytest.raises(ValidationFailed) as refused:
        services.save_report(chain.marketer, chain.merchant, name="坏报表", definition=raw)

    assert any(says in str(m) for m in refused.value.errors["definition"])
    assert not SavedReport.objects.exists()


def test_the_builder_page_shows_the_refusal_and_saving_a_bad_definition_stores_nothing(chain, login):
    """Given the builder, when it runs a filter with a text for an amount, then the page says so; when a forged
    definition is posted to save, then nothing is stored and the message is shown."""
    client = login(chain.marketer)

    page = client.get(
        f"{URL}new/",
        {
            "dataset": "sales",
            "fields": ["date"],
            "f0_field": "total_due",
            "f0_op": "gt",
            "f0_value": "abc",
            "run": "1",
        },
    )
    forged = client.post(
        f"{URL}save/",
        {"name": "x", "definition": '{"dataset": "sales", "fields": ["member__phone"]}'},
        follow=True,
    )

    assert "is not an amount in yuan" in page.content.decode()
    assert "has no field “member__phone”" in forged.content.decode()
    assert not SavedReport.objects.exists()
