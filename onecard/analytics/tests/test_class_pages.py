"""The member-class pages: distributions, migration matrix and drill-down, scoped; settings; the member page."""

import datetime
import io
import time

import openpyxl
from django.urls import reverse

from onecard.analytics import scoring
from onecard.analytics.models import AnalyticsSettings, MemberClassSnapshot, MemberFacts
from onecard.sales import checkout

DECEMBER, NOVEMBER = datetime.date(2026, 12, 1), datetime.date(2026, 11, 1)


def _classes(chain, member_factory):
    """Three A1 members and one A2 member, with November and December snapshots."""
    a1 = [member_factory(store=chain.a1, name=f"甲{i}") for i in range(3)]
    a2 = member_factory(store=chain.a2, name="乙")
    moves = [
        (a1[0], "general_grow", "important_value"),
        (a1[1], "general_grow", "important_value"),
        (a1[2], "", "general_grow"),
        (a2, "general_grow", "important_value"),
    ]
    for member, was, now in moves:
        MemberFacts.objects.create(
            member=member, merchant=chain.merchant, rfm_class=now, purchases=1, spend=100
        )
        if was:
            MemberClassSnapshot.objects.create(
                merchant=chain.merchant, member=member, month=NOVEMBER, rfm_class=was
            )
        MemberClassSnapshot.objects.create(
            merchant=chain.merchant, member=member, month=DECEMBER, rfm_class=now
        )
    return a1, a2


def test_the_matrix_counts_moves_and_each_cell_lists_its_members(chain, login, member_factory):
    """Given 3 members who moved 一般发展 → 重要价值 in December (2 at A1, 1 at A2) and a new one,
    when HQ opens the classes page, then the matrix cell holds 3 and its link lists those 3 members."""
    a1, a2 = _classes(chain, member_factory)
    client = login(chain.hq_admin)

    page = client.get(reverse("analytics:overview"), {"month": "2026-12"})

    matrix = page.context["matrix"]
    row = next(r for r in matrix["rows"] if r["value"] == "general_grow")
    assert {c["value"]: c["count"] for c in row["cells"]}["important_value"] == 3
    new_row = next(r for r in matrix["rows"] if r["value"] == "")
    assert {c["value"]: c["count"] for c in new_row["cells"]}["general_grow"] == 1
    listed = client.get(
        reverse("analytics:members"),
        {"field": "rfm_class", "value": "important_value", "month": "2026-12", "was": "general_grow"},
    )
    assert {f.member_id for f in listed.context["page"]} == {a1[0].pk, a1[1].pk, a2.pk}


def test_a_store_manager_sees_only_their_stores_members(chain, login, member_factory):
    """Given the same moves, when A1's manager opens the page and the cell's list,
    then they count and list only their 2 members, and the distribution counts 3 (theirs)."""
    a1, _a2 = _classes(chain, member_factory)
    client = login(chain.store_manager)

    page = client.get(reverse("analytics:overview"), {"month": "2026-12"})

    row = next(r for r in page.context["matrix"]["rows"] if r["value"] == "general_grow")
    assert {c["value"]: c["count"] for c in row["cells"]}["important_value"] == 2
    assert sum(r["count"] for r in page.context["rfm"]) == 3
    listed = client.get(reverse("analytics:members"), {"field": "rfm_class", "value": "important_value"})
    assert {f.member_id for f in listed.context["page"]} == {a1[0].pk, a1[1].pk}
    exported = client.get(
        reverse("analytics:members"), {"field": "rfm_class", "value": "important_value", "export": "xlsx"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
    assert sorted(row[1] for row in sheet.iter_rows(min_row=2, values_only=True)) == ["甲0", "甲1"]


def test_a_cashier_may_not_open_analytics(chain, login):
    """Given a cashier, when they open the classes page, then they are refused (403)."""
    assert login(chain.cashier_a1).get(reverse("analytics:overview")).status_code == 403


def test_settings_refuse_shrinking_thresholds_and_save_good_ones(chain, login):
    """Given HQ, when lapsing (60) comes before active (90), then nothing is saved and the page says why;
    when the thresholds grow, they are saved."""
    client = login(chain.hq_admin)
    form = {
        "window_months": 6, "score_method": "quantiles", "abcd_method": "quantiles", "abcd_top_percent": 20,
        "abcd_frequency": 4, "abcd_amount": 100000, "new_days": 30, "active_days": 90, "warning_days": 60,
        "dormant_days": 365,
    }  # fmt: skip
    refused = client.post(reverse("analytics:settings"), form)
    assert refused.status_code == 200 and not AnalyticsSettings.objects.exists()
    assert "new ≤ active ≤ lapsing ≤ dormant" in refused.content.decode() or refused.context["form"].errors

    form["warning_days"] = 180
    assert client.post(reverse("analytics:settings"), form).status_code == 302
    assert AnalyticsSettings.objects.get(merchant=chain.merchant).window_months == 6


def test_the_member_page_shows_spend_visits_class_and_favourites(chain, shop, login):
    """Given two checkouts of 李雷 (3 cakes, then 1 cake and 2 teas) and a scoring,
    when the member page opens, then it shows ¥130 lifetime spend, 2 purchases, 蛋糕 as favourite product."""
    for ref, items in (("S-1", [("CAKE-1", 3)]), ("S-2", [("CAKE-1", 1), ("TEA-1", 2)])):
        due = checkout.quote(chain.merchant, chain.a1, shop.card, items).total_due
        checkout.checkout(
            chain.cashier_a1,
            store=chain.a1,
            card=shop.card,
            items=items,
            tenders={"cash": due},
            business_ref=ref,
        )
    scoring.score_merchant(chain.merchant)

    page = login(chain.hq_admin).get(reverse("members:detail", args=[shop.member.pk])).content.decode()

    facts = MemberFacts.objects.get(member=shop.member)
    assert (facts.purchases, facts.spend) == (2, 13000)
    assert 'data-fact="spend">¥130.00' in page
    assert 'data-fact="purchases">2' in page
    assert "蛋糕" in page.split('id="member-favourite-products"')[1].split("</ol>")[0]
    assert facts.get_rfm_class_display() in page


def test_score_now_runs_in_the_background_and_shows_its_result(
    chain, login, member_factory, settings, tmp_path
):
    """Given HQ and two members, when HQ presses Score now (run inline here, as a worker would),
    then both members are scored and the progress fragment says done with 2 members."""
    settings.VAR_DIR = tmp_path
    member_factory(), member_factory()
    client = login(chain.hq_admin)

    assert client.post(reverse("analytics:rescore")).status_code == 302

    assert MemberFacts.objects.filter(merchant=chain.merchant, life_stage="prospect").count() == 2
    fragment = client.get(reverse("analytics:recompute_progress", args=["score"]))
    assert fragment.context["state"]["phase"] == "done"
    assert fragment.context["state"]["members"] == 2


def test_a_second_scoring_while_one_runs_is_refused(chain, login, settings, tmp_path):
    """Given a scoring queued by hand (no worker has taken it), when HQ presses Score now again,
    then it is refused with a message and nothing else is queued."""
    from onecard.analytics import recompute
    from onecard.core import progress

    settings.VAR_DIR = tmp_path
    progress.publish(
        recompute.progress_name("score", chain.merchant.pk),
        {"phase": "queued", "percent": 0, "started": time.time()},
    )
    client = login(chain.hq_admin)

    answer = client.post(reverse("analytics:rescore"), follow=True)

    assert recompute.state_of(chain.merchant, "score")["phase"] == "queued"
    assert any(m.level_tag == "error" for m in answer.context["messages"])
    progress.clear(recompute.progress_name("score", chain.merchant.pk))
