"""Past months' snapshots: the classes the nightly scoring would have recorded at each month's end."""

import datetime
import random

import pytest
from django.core.management import call_command
from django.urls import reverse

from onecard.analytics import backfill, scoring
from onecard.analytics.models import MemberClassSnapshot
from onecard.core.clock import moved_now
from onecard.loyalty.stored_value import services as stored_value
from onecard.members.models import Member
from onecard.sales import checkout
from onecard.testing.stored_value import sv_card

MONTHS = [datetime.date(2026, m, 1) for m in (7, 8, 9, 10, 11)]
TODAY = datetime.date(2026, 12, 7)
JOINED = datetime.datetime(2026, 6, 15, 2, 0, tzinfo=datetime.UTC)
COLUMNS = ("month", "member_id", "rfm_class", "abcd_class", "life_stage")


def _snapshots():
    return sorted(MemberClassSnapshot.objects.values_list(*COLUMNS))


def _trade_and_score_each_month(chain, shop, member_factory, seed=3):
    """Members who join over the months, buy and top up at random, scored at every month's last day
    (as the nightly scoring would have been, the last one of each month)."""
    rng = random.Random(seed)
    # The fixture's member joins in June, before the months traded (their scorings would have had them).
    Member.objects.filter(pk=shop.member.pk).update(created_at=JOINED)
    cards = [shop.card]
    for month in MONTHS:
        start = datetime.datetime.combine(month, datetime.time(2, 0), tzinfo=datetime.UTC)
        with moved_now(start) as clock:
            for i in range(3):
                cards.append(sv_card(chain, member_factory(name=f"{month:%m}会员{i}")))
            for step in range(14):
                clock.advance(datetime.timedelta(hours=rng.choice([20, 30, 50])))
                card = rng.choice(cards)
                if rng.random() < 0.2:
                    stored_value.topup(None, card, 10_000, store=chain.a1)
                    continue
                store = rng.choice([chain.a1, chain.a2])
                items = [("CAKE-1", rng.randint(1, 4))] + ([("TEA-1", 2)] if rng.random() < 0.5 else [])
                due = checkout.quote(chain.merchant, store, card, items).total_due
                checkout.checkout(
                    chain.cashier_a1, store=store, card=card, items=items, tenders={"cash": due},
                    business_ref=f"B-{month:%m}-{step}",
                )  # fmt: skip
        scoring.score_merchant(chain.merchant, today=backfill.month_end(month))


def test_backfilled_snapshots_equal_the_ones_the_month_end_scorings_wrote(chain, shop, member_factory):
    """Given five months of joins, sales and top-ups, each month scored on its last day,
    when the snapshots are deleted and backfilled for the last five closed months,
    then every month's snapshot is the one its month-end scoring wrote, member by member."""
    _trade_and_score_each_month(chain, shop, member_factory)
    recorded = _snapshots()
    assert {row[0] for row in recorded} == set(MONTHS)
    assert {row[4] for row in recorded} >= {"new", "first_purchase", "prospect", "interested"}
    MemberClassSnapshot.objects.all().delete()

    written = backfill.backfill_snapshots(chain.merchant, 5, today=TODAY)

    assert list(written) == MONTHS
    assert _snapshots() == recorded
    assert sum(written.values()) == len(recorded)


def test_a_month_with_a_snapshot_is_left_as_it_is(chain, shop, member_factory):
    """Given the month-end snapshots of five months, October's deleted and November's altered by hand,
    when the command backfills 6 months,
    then October is written again as its scoring had it, November keeps the altered row, June holds the
    one member who had joined by then (a prospect), and a second run writes nothing."""
    _trade_and_score_each_month(chain, shop, member_factory)
    recorded = _snapshots()
    MemberClassSnapshot.objects.filter(month=MONTHS[3]).delete()
    altered = MemberClassSnapshot.objects.filter(month=MONTHS[4]).first()
    altered.rfm_class = "general_value" if altered.rfm_class != "general_value" else "general_keep"
    altered.save()

    with moved_now(datetime.datetime(2026, 12, 7, 4, 0, tzinfo=datetime.UTC)):
        call_command("analytics", "backfill", "--months", "6", "--merchant", chain.merchant.code)

    october = [row for row in _snapshots() if row[0] == MONTHS[3]]
    assert october == [row for row in recorded if row[0] == MONTHS[3]]
    assert MemberClassSnapshot.objects.get(pk=altered.pk).rfm_class == altered.rfm_class
    june = [row for row in _snapshots() if row[0] == datetime.date(2026, 6, 1)]
    assert june == [(datetime.date(2026, 6, 1), shop.member.pk, "", "", "prospect")]
    assert backfill.backfill_snapshots(chain.merchant, 6, today=TODAY) == {}


@pytest.mark.parametrize("months", ["0", "121"])
def test_the_command_refuses_a_month_count_out_of_range(chain, months):
    """Given a merchant, when the backfill is asked for 0 or 121 months, then it is refused and nothing is written."""
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--months"):
        call_command("analytics", "backfill", "--months", months)
    assert not MemberClassSnapshot.objects.exists()


def test_the_classes_page_offers_to_fill_in_the_missing_month_before(chain, shop, member_factory, login):
    """Given five months of trade with only this month scored (no snapshot of November),
    when head office opens /analytics/, presses the button and opens the page again,
    then the button was offered, November to July are filled in as their month-end scorings had them,
    and the matrix of December against November is shown with the button gone."""
    _trade_and_score_each_month(chain, shop, member_factory)
    recorded = [row for row in _snapshots() if row[0] in MONTHS]
    MemberClassSnapshot.objects.all().delete()
    scoring.score_merchant(chain.merchant, today=datetime.date(2026, 12, 7))
    client = login(chain.hq_admin)
    page = client.get(reverse("analytics:overview"))
    assert b"data-backfill" in page.content

    with moved_now(datetime.datetime(2026, 12, 7, 4, 0, tzinfo=datetime.UTC)):
        answer = client.post(reverse("analytics:backfill"))

    assert answer.status_code == 302
    assert [row for row in _snapshots() if row[0] in MONTHS] == recorded
    page = client.get(reverse("analytics:overview"))
    assert b"data-backfill" not in page.content
    assert b'data-table="migration"' in page.content


def test_a_store_manager_cannot_start_a_backfill(chain, login):
    """Given A1's manager (no analytics.manage), when they post the backfill, then it is refused (403)."""
    assert login(chain.store_manager).post(reverse("analytics:backfill")).status_code == 403
    assert not MemberClassSnapshot.objects.exists()
