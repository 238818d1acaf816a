"""Prepaid-card rules (CHINA-RULES): defaults, top-up refusals, agreement versions, refund pricing, custody."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from onecard.core.errors import PermissionDenied, ValidationFailed
from onecard.core.models import AuditEntry
from onecard.loyalty.cards.services import activate
from onecard.loyalty.models import (
    AgreementAcceptance,
    AgreementVersion,
    Card,
    CardTransaction,
    LedgerWriteRefused,
    PrepaidSettings,
)
from onecard.loyalty.models.prepaid import RefundPricing
from onecard.loyalty.stored_value import holds, prepaid_rules
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.stored_value.prepaid_rules import (
    AgreementNotAccepted,
    CashTenderRefused,
    StoreMajorRisk,
    accept_agreement,
    balance_refund_quote,
    check_topup_allowed,
    custody_report,
    publish_agreement,
    set_store_status,
    update_settings,
)
from onecard.testing.cards import make_product, stock
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card


def wired_topup(actor, card, amount, *, store, tender="cash"):
    """stored_value.topup, which runs check_topup_allowed inside its transaction before anything is written."""
    return stored_value.topup(actor, card, amount, store=store, tender=tender)


def written_counts():
    return (
        CardTransaction.objects.count(),
        PrepaidSettings.objects.count(),
        AgreementAcceptance.objects.count(),
        AuditEntry.objects.count(),
    )


# ---- defaults ----------------------------------------------------------------------------------------


def test_defaults_follow_china_rules_and_are_created_on_first_read(chain):
    # given a merchant that never saved its prepaid settings
    assert not PrepaidSettings.objects.filter(merchant=chain.merchant).exists()

    # when the settings are read
    row = prepaid_rules.prepaid_settings(chain.merchant)

    # then one row exists with the CHINA-RULES defaults
    assert PrepaidSettings.objects.filter(merchant=chain.merchant).count() == 1
    assert row.cash_limit_organisation == 500_000
    assert row.cash_limit_person == 5_000_000
    assert row.cash_refund_limit == stored_value.CASH_REFUND_LIMIT == 10_000
    assert row.agreement_required is True
    assert row.member_refund_pricing == RefundPricing.LIST_PRICE
    assert row.cooling_off_enabled is False
    assert row.cooling_off_days == 7
    assert row.cooling_off_payout_days == 15
    assert row.custody_ratio == Decimal("0.20")
    assert row.custodied_amount == 0
    assert prepaid_rules.prepaid_settings(chain.merchant).pk == row.pk


def test_settings_for_reads_defaults_without_writing(chain):
    row = prepaid_rules.settings_for(chain.merchant)
    assert row.pk is None and row.cash_limit_organisation == 500_000
    assert PrepaidSettings.objects.count() == 0


def test_update_settings_audits_and_needs_head_office(chain):
    # when head office changes the cash refund limit
    row = update_settings(chain.hq_admin, chain.merchant, cash_refund_limit=20_000, cooling_off_enabled=True)

    # then it is saved and audited
    assert (row.cash_refund_limit, row.cooling_off_enabled) == (20_000, True)
    entry = AuditEntry.objects.filter(subject_type="loyalty.prepaidsettings").get()
    assert entry.after == {"cash_refund_limit": 20_000, "cooling_off_enabled": True}
    # and a store manager may not change merchant-wide rules
    with pytest.raises(PermissionDenied):
        update_settings(chain.store_manager, chain.merchant, cash_refund_limit=1)


def test_update_settings_refuses_bad_values(chain):
    with pytest.raises(ValidationFailed) as exc:
        update_settings(
            chain.hq_admin,
            chain.merchant,
            cash_limit_person=0,
            custody_ratio=Decimal("1.5"),
            cooling_off_days=0,
        )
    assert set(exc.value.errors) == {"cash_limit_person", "custody_ratio", "cooling_off_days"}
    assert not PrepaidSettings.objects.exclude(cash_limit_person=5_000_000).exists()


# ---- store flags -------------------------------------------------------------------------------------


def test_major_risk_store_refuses_top_ups_and_nothing_is_written(chain, card):
    # given store A1 flagged as a major risk
    set_store_status(chain.hq_admin, chain.a1, major_risk=True, note="拖欠租金")
    before = written_counts()

    # when a cashier tops up there
    with translation.override("en"), pytest.raises(StoreMajorRisk) as exc:
        wired_topup(chain.cashier_a1, card, 10_000, store=chain.a1)

    # then the top-up is refused with store_major_risk and nothing is written
    assert exc.value.code == "store_major_risk"
    assert "major risk" in str(exc.value.message)
    assert written_counts() == before
    assert balances(card) == (0, 0, 0)
    # and another store still takes top-ups
    wired_topup(chain.cashier_b1, card, 10_000, store=chain.b1)
    assert balances(card)[0] == 10_000


def test_store_past_its_closure_date_refuses_top_ups(chain, card):
    today = prepaid_rules.shanghai_today()
    set_store_status(
        chain.hq_admin, chain.a1, major_risk=False, closes_on=today + datetime.timedelta(days=30)
    )
    # before the closure date: allowed
    check_topup_allowed(card, 10_000, tender="wechat", store=chain.a1)
    # on the closure date: refused
    with pytest.raises(StoreMajorRisk) as exc:
        check_topup_allowed(
            card, 10_000, tender="wechat", store=chain.a1, today=today + datetime.timedelta(30)
        )
    assert exc.value.extra["closes_on"] == (today + datetime.timedelta(days=30)).isoformat()


def test_store_flag_is_scoped(chain):
    with pytest.raises(PermissionDenied):
        set_store_status(chain.store_manager, chain.b1, major_risk=True)


# ---- cash tender -------------------------------------------------------------------------------------


def test_cash_refused_from_5000_yuan_for_a_company(chain, member_factory):
    company_card = sv_card(chain, member_factory(kind="company", name="某公司", phone=""))
    before = written_counts()
    with translation.override("en"), pytest.raises(CashTenderRefused) as exc:
        wired_topup(chain.cashier_a1, company_card, 500_000, store=chain.a1, tender="cash")
    assert exc.value.code == "cash_tender_refused"
    assert exc.value.extra == {"limit": 500_000, "requested": 500_000}
    assert "¥5000.00 or more by an organisation" in str(exc.value.message)
    assert written_counts() == before
    # just below the limit, and the same amount by bank card, are fine
    check_topup_allowed(company_card, 499_999, tender="cash", store=chain.a1)
    wired_topup(chain.cashier_a1, company_card, 500_000, store=chain.a1, tender="bank_card")
    assert balances(company_card)[0] == 500_000


def test_cash_refused_from_50000_yuan_for_a_person(chain, card):
    check_topup_allowed(card, 4_999_999, tender="cash", store=chain.a1)
    with pytest.raises(CashTenderRefused) as exc:
        check_topup_allowed(card, 5_000_000, tender="cash", store=chain.a1)
    assert exc.value.extra["limit"] == 5_000_000


def test_card_without_member_gets_the_organisation_cash_limit(chain):
    product = make_product(chain, name="不记名卡", registered=False, balance_cap=1_000_000)
    card = stock(product, chain.a1, count=1, prefix="8899")[0]
    with pytest.raises(CashTenderRefused):
        check_topup_allowed(card, 500_000, tender="cash", store=chain.a1)


def test_cash_refund_limit_is_the_merchants_setting(chain):
    prepaid_rules.check_cash_refund(chain.merchant, 10_000, "cash")
    with pytest.raises(stored_value.CashRefundTooLarge):
        prepaid_rules.check_cash_refund(chain.merchant, 10_001, "cash")
    prepaid_rules.check_cash_refund(chain.merchant, 10_001, "bank")
    update_settings(chain.hq_admin, chain.merchant, cash_refund_limit=20_000)
    prepaid_rules.check_cash_refund(chain.merchant, 20_000, "cash")


# ---- agreement ---------------------------------------------------------------------------------------


def test_no_published_agreement_means_no_refusal(chain, card):
    # given a merchant that never published an agreement
    assert not AgreementVersion.objects.filter(merchant=chain.merchant).exists()
    # when the member tops up without having accepted anything
    assert check_topup_allowed(card, 10_000, tender="wechat", store=chain.a1) is None
    wired_topup(chain.cashier_a1, card, 10_000, store=chain.a1, tender="wechat")
    # then the top-up went through and no acceptance was needed or recorded
    assert balances(card) == (10_000, 0, 0)
    assert not AgreementAcceptance.objects.filter(member=card.member).exists()
    assert_ledger_clean()


def test_agreement_must_be_accepted_and_again_after_a_new_version(chain, card):
    # given a published agreement v1
    v1 = publish_agreement(chain.hq_admin, chain.merchant, "储值协议 第一版")
    assert v1.version == 1
    before = written_counts()

    # when the member has not accepted it, the top-up is refused and nothing is written
    with translation.override("en"), pytest.raises(AgreementNotAccepted) as exc:
        wired_topup(chain.cashier_a1, card, 10_000, store=chain.a1, tender="wechat")
    assert exc.value.code == "agreement_not_accepted"
    assert "version 1" in str(exc.value.message)
    assert written_counts() == before

    # when the member accepts v1 at the counter, the top-up goes through
    acceptance = accept_agreement(chain.cashier_a1, card.member, channel="counter")
    assert (acceptance.version_id, acceptance.staff_id, acceptance.channel) == (
        v1.pk,
        chain.cashier_a1.pk,
        "counter",
    )
    wired_topup(chain.cashier_a1, card, 10_000, store=chain.a1, tender="wechat")

    # when v2 is published, acceptance is needed again
    v2 = publish_agreement(chain.hq_admin, chain.merchant, "储值协议 第二版")
    assert v2.version == 2
    with pytest.raises(AgreementNotAccepted) as exc:
        check_topup_allowed(card, 10_000, tender="wechat", store=chain.a1)
    assert exc.value.extra["version"] == 2
    accept_agreement(chain.cashier_a1, card.member, channel="paper")
    check_topup_allowed(card, 10_000, tender="wechat", store=chain.a1)
    assert AgreementAcceptance.objects.filter(member=card.member).count() == 2


def test_agreement_setting_off_skips_the_check(chain, card):
    # given a published agreement the member never accepted, and the merchant's setting turned off
    publish_agreement(chain.hq_admin, chain.merchant, "储值协议")
    update_settings(chain.hq_admin, chain.merchant, agreement_required=False)
    assert prepaid_rules.prepaid_settings(chain.merchant).agreement_required is False
    # when the member tops up
    assert check_topup_allowed(card, 10_000, tender="wechat", store=chain.a1) is None
    wired_topup(chain.cashier_a1, card, 10_000, store=chain.a1, tender="wechat")
    # then the top-up went through without any acceptance on record
    assert balances(card) == (10_000, 0, 0)
    assert not AgreementAcceptance.objects.filter(member=card.member).exists()
    assert_ledger_clean()


def test_anonymous_card_is_not_refused_for_the_agreement(chain):
    # given a published agreement and an anonymous card (no member to accept it), activated
    publish_agreement(chain.hq_admin, chain.merchant, "储值协议")
    product = make_product(chain, name="不记名卡", registered=False)
    card = stock(product, chain.a1, count=1, prefix="8898")[0]
    assert check_topup_allowed(card, 10_000, tender="wechat", store=chain.a1) is None
    card = activate(None, card)
    assert card.member_id is None
    # when it is topped up
    wired_topup(chain.cashier_a1, card, 10_000, store=chain.a1, tender="wechat")
    # then the value is on the card and no acceptance exists
    assert balances(card) == (10_000, 0, 0)
    assert not AgreementAcceptance.objects.exists()
    assert_ledger_clean()


def test_published_agreement_is_immutable(chain):
    v1 = publish_agreement(chain.hq_admin, chain.merchant, "原文")
    v1.text = "改过"
    with pytest.raises(LedgerWriteRefused):
        v1.save()
    with pytest.raises(LedgerWriteRefused):
        v1.delete()
    assert AgreementVersion.objects.get(pk=v1.pk).text == "原文"


def test_accepting_twice_keeps_the_first_record(chain, card):
    publish_agreement(chain.hq_admin, chain.merchant, "储值协议")
    first = accept_agreement(chain.cashier_a1, card.member, channel="counter")
    again = accept_agreement(chain.cashier_b1, card.member, channel="portal")
    assert again.pk == first.pk and again.channel == "counter"


def test_accept_refusals(chain, card):
    with pytest.raises(prepaid_rules.NoAgreementPublished):
        accept_agreement(chain.cashier_a1, card.member, channel="counter")
    publish_agreement(chain.hq_admin, chain.merchant, "储值协议")
    with pytest.raises(ValidationFailed):
        accept_agreement(chain.cashier_a1, card.member, channel="telepathy")
    with pytest.raises(PermissionDenied):
        accept_agreement(chain.other_manager, card.member, channel="counter")
    with pytest.raises(PermissionDenied):
        publish_agreement(chain.store_manager, chain.merchant, "店里自己写的")
    with pytest.raises(ValidationFailed):
        publish_agreement(chain.hq_admin, chain.merchant, "   ")
    assert AgreementAcceptance.objects.count() == 0
    assert AgreementVersion.objects.count() == 1


def test_void_clauses_are_spotted():
    assert prepaid_rules.void_clauses("本卡不记名，概不退款。") == ["概不退款"]
    assert prepaid_rules.void_clauses("未使用余额可申请退款。") == []


# ---- refund pricing ----------------------------------------------------------------------------------


@pytest.fixture
def example_card(chain, card):
    """Paid ¥3,000 + bonus ¥1,000 (充3000送1000), then used ¥2,000 (list price, no tier discount)."""
    bonus_rule(chain, [[300_000, 100_000]])
    stored_value.topup(chain.cashier_a1, card, 300_000, store=chain.a1, tender="wechat")
    stored_value.charge(chain.cashier_a1, card, 200_000, store=chain.a1)
    return card


def test_merchant_fault_example_refunds_1500(example_card):
    with translation.override("en"):
        quote = balance_refund_quote(example_card, "merchant_fault")
    assert (quote.principal_paid, quote.bonus_granted, quote.value_used) == (300_000, 100_000, 200_000)
    assert quote.remaining == 200_000
    assert quote.refundable == 150_000
    assert quote.forfeited == 50_000
    # proportional consumption left ¥1,500 principal: all of the refund comes from it
    assert (quote.from_principal, quote.from_bonus) == (150_000, 0)
    assert "Refund = ¥3000.00 × ¥2000.00 ÷ ¥4000.00 = ¥1500.00" in quote.lines


def test_member_request_prices_used_value_before_discount(example_card):
    with translation.override("en"):
        quote = balance_refund_quote(example_card, "member_request")
    assert quote.list_value_used == 200_000
    assert quote.refundable == 100_000
    assert "Refund = ¥3000.00 − used at list price ¥2000.00 = ¥1000.00" in quote.lines


def test_member_request_counts_the_tier_discount_as_used(chain, card):
    # given charges at list ¥1,000 taken at ¥800 (a 20% tier discount, set on the row directly)
    stored_value.topup(chain.cashier_a1, card, 300_000, store=chain.a1, tender="wechat")
    tx = stored_value.charge(chain.cashier_a1, card, 80_000, store=chain.a1)
    CardTransaction.objects.filter(pk=tx.pk).update(list_amount=100_000, discount=20_000)
    # and half of the charge refunded
    stored_value.refund(chain.cashier_a1, tx, 40_000, store=chain.a1, reason="退一半")

    quote = balance_refund_quote(card, "member_request")

    # then used = ¥400 as charged, ¥500 at list price; refund = 3000 − 500
    assert (quote.value_used, quote.list_value_used) == (40_000, 50_000)
    assert quote.refundable == 250_000


def test_member_request_as_charged_refunds_the_principal_left(chain, example_card):
    update_settings(chain.hq_admin, chain.merchant, member_refund_pricing=RefundPricing.AS_CHARGED)
    quote = balance_refund_quote(example_card, "member_request")
    assert quote.principal_used == 150_000
    assert quote.refundable == 150_000


def test_merchant_fault_with_principal_first_takes_part_from_bonus(chain, member_factory):
    card = sv_card(chain, member_factory(), order="principal_first")
    bonus_rule(chain, [[300_000, 100_000]])
    stored_value.topup(chain.cashier_a1, card, 300_000, store=chain.a1, tender="wechat")
    stored_value.charge(chain.cashier_a1, card, 200_000, store=chain.a1)
    quote = balance_refund_quote(card, "merchant_fault")
    assert quote.refundable == 150_000
    assert (quote.from_principal, quote.from_bonus) == (100_000, 50_000)


def test_top_up_refunds_reduce_the_principal_paid_in(chain, card):
    topup = stored_value.topup(chain.cashier_a1, card, 300_000, store=chain.a1, tender="wechat")
    stored_value.refund_topup(chain.cashier_a1, topup, 100_000, store=chain.a1, reason="部分退")
    quote = balance_refund_quote(card, "member_request")
    assert (quote.principal_paid, quote.refundable) == (200_000, 200_000)


def test_quote_follows_the_cards_a_card_replaced(chain, example_card):
    from onecard.loyalty.cards import services as cards

    new = stock(example_card.product, chain.a1, count=1, prefix="8897")[0]
    cards.replace(None, example_card, new)
    assert balance_refund_quote(new, "merchant_fault").refundable == 150_000


def test_quote_refuses_an_unknown_reason(example_card):
    with pytest.raises(prepaid_rules.InvalidRefundReason):
        balance_refund_quote(example_card, "whim")


def test_cooling_off_gives_the_full_principal_within_the_window(chain, card):
    update_settings(chain.hq_admin, chain.merchant, cooling_off_enabled=True)
    bonus_rule(chain, [[300_000, 100_000]])
    stored_value.topup(chain.cashier_a1, card, 300_000, store=chain.a1, tender="wechat")
    now = timezone.now()

    quote = balance_refund_quote(card, "member_request", now=now)
    assert quote.cooling_off is True
    assert quote.refundable == 300_000
    assert quote.payout_due == prepaid_rules.shanghai_today(now) + datetime.timedelta(days=15)
    # after 7 days the window has closed
    later = balance_refund_quote(card, "member_request", now=now + datetime.timedelta(days=8))
    assert later.cooling_off is False and later.payout_due is None


# ---- custody -----------------------------------------------------------------------------------------


def test_custody_report_counts_principal_at_quarter_end_and_alerts_below_ratio(chain, card):
    # given ¥3,000 principal (+ ¥1,000 bonus, not counted), ¥500 of it held by an open hold
    bonus_rule(chain, [[300_000, 100_000]])
    stored_value.topup(chain.cashier_a1, card, 300_000, store=chain.a1, tender="wechat")
    holds.hold(chain.cashier_a1, card, 40_000, store=chain.a1)
    quarter = f"{prepaid_rules.shanghai_today().year}Q{(prepaid_rules.shanghai_today().month - 1) // 3 + 1}"
    update_settings(chain.hq_admin, chain.merchant, custodied_amount=50_000)

    # when the report for the current quarter is made
    report = custody_report(chain.merchant, quarter)

    # then the outstanding principal is ¥3,000 and ¥500 custodied is below 20%
    assert report.outstanding_principal == 300_000
    assert report.required == 60_000
    assert report.ratio == Decimal("0.1667")
    assert report.alert is True
    # and with ¥600 in custody no alert
    update_settings(chain.hq_admin, chain.merchant, custodied_amount=60_000)
    assert custody_report(chain.merchant, quarter).alert is False


def test_custody_report_ignores_activity_after_the_quarter(chain, card):
    stored_value.topup(chain.cashier_a1, card, 300_000, store=chain.a1, tender="wechat")
    report = custody_report(chain.merchant, "2020Q4")
    assert report.outstanding_principal == 0
    assert report.alert is False and report.ratio is None
    assert report.period_end == datetime.date(2020, 12, 31)


def test_custody_report_refuses_a_bad_quarter(chain):
    with pytest.raises(prepaid_rules.BusinessError) as exc:
        custody_report(chain.merchant, "2026Q5")
    assert exc.value.code == "invalid_quarter"


def test_ledger_stays_clean(example_card):
    assert_ledger_clean()


def test_cooling_off_ends_once_the_card_is_used(chain, card):
    update_settings(chain.hq_admin, chain.merchant, cooling_off_enabled=True)
    stored_value.topup(chain.cashier_a1, card, 300_000, store=chain.a1, tender="wechat")
    stored_value.charge(chain.cashier_a1, card, 1_000, store=chain.a1)
    quote = balance_refund_quote(card, "member_request")
    assert quote.cooling_off is False
    assert quote.refundable == 299_000


def test_tender_names_are_compared_without_case(chain, card):
    with pytest.raises(CashTenderRefused):
        check_topup_allowed(card, 5_000_000, tender="CASH", store=chain.a1)


def test_top_up_check_reads_few_rows(chain, card, django_assert_max_num_queries):
    # given every rule in play: a store status row, settings, an accepted agreement
    set_store_status(chain.hq_admin, chain.a1, major_risk=False)
    publish_agreement(chain.hq_admin, chain.merchant, "储值协议")
    accept_agreement(chain.cashier_a1, card.member, channel="counter")
    card = Card.objects.select_related("member").get(pk=card.pk)
    # then the check costs at most four reads (store, settings, current version, acceptance)
    with django_assert_max_num_queries(4):
        check_topup_allowed(card, 10_000, tender="cash", store=chain.a1)
