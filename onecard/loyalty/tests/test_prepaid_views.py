"""Pages of the prepaid-card rules: permissions, settings, store flags, agreements, acceptance, refund quote."""

import datetime

import pytest

from onecard.loyalty.models import AgreementAcceptance, AgreementVersion, PrepaidSettings, PrepaidStoreStatus
from onecard.loyalty.stored_value import prepaid_rules
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.stored_value.prepaid_views import agreement_panel_context
from onecard.testing.stored_value import bonus_rule, sv_card

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def settings_post(**overrides):
    data = {
        "cash_limit_organisation": "5000.00",
        "cash_limit_person": "50000.00",
        "cash_refund_limit": "100.00",
        "agreement_required": "on",
        "member_refund_pricing": "list_price",
        "cooling_off_days": "7",
        "cooling_off_payout_days": "15",
        "void_window_minutes": "10",
        "custody_ratio": "0.20",
        "custodied_amount": "0",
        "custodied_as_of": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# ---- permissions -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["cashier_a1", "store_manager", "region_manager"])
def test_settings_pages_need_prepaid_manage(chain, login, who):
    client = login(getattr(chain, who))
    assert client.get("/prepaid/").status_code == 403
    assert client.get("/prepaid/agreements/").status_code == 403
    assert client.post("/prepaid/", settings_post()).status_code == 403
    assert client.post(f"/prepaid/stores/{chain.a1.pk}/", {"major_risk": "on"}).status_code == 403
    assert PrepaidSettings.objects.count() == 0
    assert PrepaidStoreStatus.objects.count() == 0


def test_anonymous_is_sent_to_login(client):
    response = client.get("/prepaid/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# ---- settings ----------------------------------------------------------------------------------------


def test_settings_page_shows_defaults_and_the_disclaimer(chain, login):
    client = login(chain.hq_admin)
    response = client.get("/prepaid/", **EN)
    assert response.status_code == 200
    page = response.content.decode()
    assert "not legal advice" in page
    assert 'value="5000.00"' in page and 'value="50000.00"' in page and 'value="100.00"' in page
    assert "Custody report" in page
    # the settings row was created with the defaults on first read
    assert PrepaidSettings.objects.get(merchant=chain.merchant).cash_limit_person == 5_000_000


def test_settings_page_saves_in_yuan(chain, login):
    client = login(chain.hq_admin)
    response = client.post(
        "/prepaid/",
        settings_post(
            cash_refund_limit="200.00",
            cooling_off_enabled="on",
            custodied_amount="12345.67",
            void_window_minutes="15",
        ),
        **EN,
    )
    assert response.status_code == 302
    row = PrepaidSettings.objects.get(merchant=chain.merchant)
    assert (row.cash_refund_limit, row.cooling_off_enabled, row.custodied_amount) == (20_000, True, 1_234_567)
    assert row.void_window_minutes == 15
    page = client.get("/prepaid/", **EN).content.decode()
    assert "A cashier may void a top-up or charge within (minutes)" in page and 'value="15"' in page


def test_settings_page_refuses_bad_input(chain, login):
    client = login(chain.hq_admin)
    response = client.post("/prepaid/", settings_post(cash_limit_person="0", custody_ratio="2"), **EN)
    assert response.status_code == 400
    assert not PrepaidSettings.objects.exclude(cash_limit_person=5_000_000).exists()


def test_custody_alert_on_the_page(chain, login, member_factory):
    card = sv_card(chain, member_factory())
    stored_value.topup(chain.cashier_a1, card, 100_000, store=chain.a1, tender="wechat")
    today = prepaid_rules.shanghai_today()
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    client = login(chain.hq_admin)
    page = client.get(f"/prepaid/?quarter={quarter}", **EN).content.decode()
    assert "¥1000.00" in page
    assert "data-custody-alert" in page and "at least ¥200.00 should be in custody" in page


def test_store_flag_from_the_page_stops_top_ups(chain, login, member_factory):
    client = login(chain.hq_admin)
    closes = prepaid_rules.shanghai_today() + datetime.timedelta(days=40)
    response = client.post(
        f"/prepaid/stores/{chain.a1.pk}/",
        {"major_risk": "on", "closes_on": closes.isoformat(), "note": "风险"},
    )
    assert response.status_code == 302
    row = PrepaidStoreStatus.objects.get(store=chain.a1)
    assert (row.major_risk, row.closes_on, row.note) == (True, closes, "风险")
    card = sv_card(chain, member_factory())
    with pytest.raises(prepaid_rules.StoreMajorRisk):
        prepaid_rules.check_topup_allowed(card, 100, tender="wechat", store=chain.a1)
    page = client.get("/prepaid/", **EN).content.decode()
    assert "stopped" in page


def test_store_of_another_merchant_is_not_found(chain, login):
    client = login(chain.hq_admin)
    assert client.post(f"/prepaid/stores/{chain.other_store.pk}/", {"major_risk": "on"}).status_code == 404


# ---- agreements --------------------------------------------------------------------------------------


def test_publish_versions_from_the_page(chain, login):
    client = login(chain.hq_admin)
    assert client.post("/prepaid/agreements/", {"text": "储值协议 第一版"}).status_code == 302
    response = client.post("/prepaid/agreements/", {"text": "第二版：本卡概不退款"}, follow=True, **EN)
    page = response.content.decode()
    assert "Version 2 is published" in page
    assert "void" in page  # the warning about the no-refund clause
    assert list(AgreementVersion.objects.values_list("version", flat=True).order_by("version")) == [1, 2]
    assert 'data-version="2"' in page and 'data-version="1"' in page


def test_publish_refuses_an_empty_text(chain, login):
    client = login(chain.hq_admin)
    assert client.post("/prepaid/agreements/", {"text": "  "}).status_code == 400
    assert AgreementVersion.objects.count() == 0


def test_cashier_records_acceptance_and_returns_to_next(chain, login, member_factory):
    # given a published agreement and a member who has not accepted it
    version = prepaid_rules.publish_agreement(chain.hq_admin, chain.merchant, "储值协议正文")
    member = member_factory()
    client = login(chain.cashier_a1)

    # when the cashier opens the agreement from the till
    response = client.get(f"/prepaid/agreement/accept/{member.pk}/?next=/till/?card=8800", **EN)
    assert response.status_code == 200
    assert "储值协议正文" in response.content.decode()

    # and the member accepts it
    response = client.post(
        f"/prepaid/agreement/accept/{member.pk}/",
        {"version": version.pk, "channel": "counter", "next": "/till/?card=8800"},
    )

    # then the acceptance is stored and the cashier is back at the till
    assert response.status_code == 302 and response["Location"] == "/till/?card=8800"
    row = AgreementAcceptance.objects.get(member=member)
    assert (row.version_id, row.staff_id, row.channel) == (version.pk, chain.cashier_a1.pk, "counter")


def test_accept_ignores_an_outside_next(chain, login, member_factory):
    version = prepaid_rules.publish_agreement(chain.hq_admin, chain.merchant, "协议")
    member = member_factory()
    client = login(chain.cashier_a1)
    response = client.post(
        f"/prepaid/agreement/accept/{member.pk}/",
        {"version": version.pk, "channel": "counter", "next": "https://evil.example/"},
    )
    assert response["Location"] == f"/members/{member.pk}/"


def test_accept_refuses_a_stale_version(chain, login, member_factory):
    old = prepaid_rules.publish_agreement(chain.hq_admin, chain.merchant, "旧版")
    prepaid_rules.publish_agreement(chain.hq_admin, chain.merchant, "新版")
    member = member_factory()
    client = login(chain.cashier_a1)
    response = client.post(
        f"/prepaid/agreement/accept/{member.pk}/", {"version": old.pk, "channel": "counter"}
    )
    assert response.status_code == 409
    assert AgreementAcceptance.objects.count() == 0


def test_accept_is_limited_to_the_staffs_merchant_and_permission(chain, login, member_factory):
    prepaid_rules.publish_agreement(chain.hq_admin, chain.merchant, "协议")
    member = member_factory()
    assert login(chain.other_manager).get(f"/prepaid/agreement/accept/{member.pk}/").status_code == 404
    assert login(chain.marketer).get(f"/prepaid/agreement/accept/{member.pk}/").status_code == 403


def test_panel_context_links_to_the_acceptance(chain, member_factory):
    member = member_factory()
    assert agreement_panel_context(member)["agreement_pending"] is None
    version = prepaid_rules.publish_agreement(chain.hq_admin, chain.merchant, "协议")
    context = agreement_panel_context(member, "/till/?card=1")
    assert context["agreement_pending"] == version
    assert (
        context["agreement_accept_url"]
        == f"/prepaid/agreement/accept/{member.pk}/?next=%2Ftill%2F%3Fcard%3D1"
    )


# ---- refund quote ------------------------------------------------------------------------------------


def test_refund_quote_page_shows_the_calculation(chain, login, member_factory):
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[300_000, 100_000]])
    stored_value.topup(chain.cashier_a1, card, 300_000, store=chain.a1, tender="wechat")
    stored_value.charge(chain.cashier_a1, card, 200_000, store=chain.a1)
    client = login(chain.store_manager)

    page = client.get(f"/prepaid/refund-quote/{card.pk}/?reason=merchant_fault", **EN).content.decode()
    assert "Refund = ¥3000.00 × ¥2000.00 ÷ ¥4000.00 = ¥1500.00" in page
    assert "¥1500.00" in page
    page = client.get(f"/prepaid/refund-quote/{card.pk}/?reason=member_request", **EN).content.decode()
    assert "¥1000.00" in page
    # a cashier (no cards.cancel) may not, and another merchant's staff do not find the card
    assert login(chain.cashier_a1).get(f"/prepaid/refund-quote/{card.pk}/").status_code == 403
    assert login(chain.other_manager).get(f"/prepaid/refund-quote/{card.pk}/").status_code == 404


def test_a_bad_quarter_falls_back_to_the_last_closed_one(chain, login):
    client = login(chain.hq_admin)
    response = client.get("/prepaid/?quarter=2026Q9", follow=True, **EN)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Give a quarter like 2026Q3." in page
    assert f"Custody report {prepaid_rules.last_closed_quarter()}" in page


def test_system_admin_picks_the_merchant(chain, login):
    client = login(chain.admin)
    response = client.post(f"/prepaid/?merchant={chain.other.pk}", settings_post(cash_refund_limit="50.00"))
    assert response.status_code == 302
    assert PrepaidSettings.objects.get(merchant=chain.other).cash_refund_limit == 5_000
    assert not PrepaidSettings.objects.filter(merchant=chain.merchant, cash_refund_limit=5_000).exists()
