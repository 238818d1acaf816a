"""`onecard bench checkout` at a small size on the test database: set-up, the quote cases, one JSON line."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from onecard.promotions.models import Coupon, Promotion

pytestmark = pytest.mark.django_db

ARGS = [
    "--cards",
    "2",
    "--products",
    "40",
    "--promotions",
    "20",
    "--samples",
    "5",
    "--tills",
    "0",
    "--skip-http",
]


@pytest.fixture
def demo_chain(db):
    """The demo chain with two members, so the bench seeds nothing big."""
    from onecard.members import services
    from onecard.org.demo import build_demo_chain

    merchant, stores, _staff, _passwords = build_demo_chain()
    for n in range(2):
        services.create_member(
            None, merchant, {"name": f"压测{n}", "phone": f"1390000{n:04d}", "home_store": stores[n]}
        )
    return merchant


def test_bench_checkout_sets_up_quotes_and_ends_with_json(demo_chain):
    # when the bench runs at a small size, tills left out
    out = io.StringIO()
    call_command("bench", "checkout", *ARGS, stdout=out)
    lines = out.getvalue().strip().splitlines()
    result = json.loads(lines[-1])
    # then the table shows the quote and the engine, and the JSON every figure
    assert any(line.startswith("case") and "median ms" in line for line in lines)
    assert result["benchmark"] == "checkout" and result["database"] == connection.vendor
    names = [case["case"] for case in result["cases"]]
    assert names[0].startswith("quote: 20 lines, 10 coupons, ")
    assert names[1:] == ["quote for the member, no card", "pricing engine alone (20 lines)"]
    assert [case["samples"] for case in result["cases"]] == [5, 5, 5]
    assert result["tills_skipped"] == "--tills 0" and result["http_skipped"] == "--skip-http"
    assert result["checkout"] is None and result["ratio"] is None
    assert [t["name"] for t in result["targets"]] == ["quote median (ms)", "quote p99 (ms)"]
    # and the set-up made 20 promotions, some in force at the quote's store, and the member's 10 coupons
    assert Promotion.objects.filter(merchant=demo_chain, active=True).count() == 20
    assert 0 < result["promotions_in_force"] <= 20
    assert Coupon.objects.filter(merchant=demo_chain, member__isnull=False).count() == 10
    # and one quote took a handful of statements whatever the cart's size; one checkout was taken
    assert result["queries_per_quote"] <= 9
    assert result["queries_per_checkout"] > result["queries_per_quote"]
    example = result["example_quote"]
    assert 0 < example["total_due"] <= example["list_total"]


def test_a_second_run_reuses_the_set_up(demo_chain):
    # given a first run; when running again
    call_command("bench", "checkout", *ARGS, stdout=io.StringIO())
    promotions = set(Promotion.objects.values_list("pk", flat=True))
    coupons = set(Coupon.objects.filter(member__isnull=False).values_list("pk", flat=True))
    out = io.StringIO()
    call_command("bench", "checkout", *ARGS, stdout=out)
    # then no promotion or member coupon was added, and no product created
    assert set(Promotion.objects.values_list("pk", flat=True)) == promotions
    assert set(Coupon.objects.filter(member__isnull=False).values_list("pk", flat=True)) == coupons
    assert "creating" not in out.getvalue()
