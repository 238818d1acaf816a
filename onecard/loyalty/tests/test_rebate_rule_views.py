"""The rebate rules section of /cards/rules/ and the alliance flag of card products (/cards/products/)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from onecard.core.errors import BusinessError
from onecard.core.models import AuditEntry
from onecard.loyalty.cards.choices import CardKind
from onecard.loyalty.models import CardProduct, RebateRule
from onecard.loyalty.stored_value import rebates
from onecard.loyalty.stored_value import services as stored_value
from onecard.org.models import Alliance
from onecard.testing.stored_value import balances, sv_card

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name, *args):
    return reverse(f"cards:{name}", args=args)


def rebate_data(**fields):
    yesterday = timezone.localtime() - datetime.timedelta(days=1)
    data = {"name": "会员返利", "percent": "2.5", "form": "bonus", "min_amount": "100", "store": "",
            "valid_from": yesterday.strftime("%Y-%m-%dT%H:%M"), "valid_to": "", "is_active": "on"}  # fmt: skip
    return {**data, **fields}


def make_rule(chain, percent="2", **fields):
    fields.setdefault("valid_from", timezone.now() - datetime.timedelta(days=1))
    return rebates.create_rebate_rule(None, chain.merchant, name=fields.pop("name", "返利"), percent=percent,
                                      **fields)  # fmt: skip


# ---- rebate rules ---------------------------------------------------------------------------------------------


def test_rebate_rule_created_on_the_page_is_listed_and_applied_to_charges(chain, login, member_factory):
    # given a card of A1 with ¥500 principal
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 50_000, store=chain.a1)
    client = login(chain.hq_admin)
    # when head office creates a 2.5% bonus rebate for charges of ¥100 or more
    response = client.post(url("rebate_rule_create"), rebate_data(), **EN)
    # then it is saved as typed, in fen and Decimal
    assert response.status_code == 302 and response.url == url("rules")
    rule = RebateRule.objects.get()
    assert (rule.name, rule.percent, rule.form, rule.min_amount, rule.store, rule.is_active) == (
        "会员返利", Decimal("2.5"), "bonus", 10_000, None, True)  # fmt: skip
    # and listed in the Rebates section
    body = client.get(url("rules"), **EN).content.decode()
    row = body[body.index(f'data-rebate-rule="{rule.pk}"') :].split("</tr>")[0]
    assert "会员返利" in row and "2.50%" in row and "Bonus value" in row and "¥100.00" in row
    assert "Every store" in row and "open" in row
    # and rebate_for picks it for a big enough charge at A1, not for a small one
    assert rebates.rebate_for(card, chain.a1, 10_000) == rule
    assert rebates.rebate_for(card, chain.a1, 9_999) is None
    # and a charge of ¥200 gets floor(20000 × 2.5 / 100) = 500 fen back as bonus
    tx = stored_value.charge(None, card, 20_000, store=chain.a1)
    assert (tx.rebate_rule, tx.rebate_bonus) == (rule, 500)
    assert balances(card) == (30_000, 500, 0)


def test_a_points_rebate_for_one_store(chain, login, member_factory):
    # given
    card = sv_card(chain, member_factory())
    client = login(chain.hq_admin)
    # when a 5% points rebate for A2 only
    data = rebate_data(name="浦东返积分", percent="5", form="points", min_amount="", store=chain.a2.pk)
    assert client.post(url("rebate_rule_create"), data, **EN).status_code == 302
    # then
    rule = RebateRule.objects.get()
    assert (rule.form, rule.store, rule.min_amount) == ("points", chain.a2, 0)
    assert rebates.rebate_for(card, chain.a2, 1_000) == rule
    assert rebates.rebate_for(card, chain.a1, 1_000) is None
    assert "浦东店" in client.get(url("rules"), **EN).content.decode()


@pytest.mark.parametrize(
    ("percent", "message"),
    [
        ("0", "The percent is above 0 and at most 100, with at most two decimals."),
        ("101", "The percent is above 0 and at most 100, with at most two decimals."),
        ("2.005", "The percent is above 0 and at most 100, with at most two decimals."),
        ("abc", "Enter a number."),
    ],
)
def test_a_bad_percent_is_shown_in_the_form_and_saves_nothing(chain, login, percent, message):
    # given
    client = login(chain.hq_admin)
    # when
    response = client.post(url("rebate_rule_create"), rebate_data(percent=percent), **EN)
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert f'<p class="error" data-error-for="percent">{message}</p>' in body
    assert f'value="{percent}"' in body  # what was typed stays in the field
    assert not RebateRule.objects.exists()
    assert not AuditEntry.objects.filter(subject_type="loyalty.rebaterule").exists()


def test_an_end_before_the_start_is_refused_by_the_service(chain, login):
    client = login(chain.hq_admin)
    response = client.post(url("rebate_rule_create"), rebate_data(valid_to="2020-01-01T00:00"), **EN)
    assert response.status_code == 200
    assert 'data-error-for="valid_to">The end comes after the start.' in response.content.decode()
    assert not RebateRule.objects.exists()


def test_edit_a_rebate_rule_audits_only_what_changed(chain, login):
    # given a rule made by the service (its start has seconds and microseconds)
    rule = make_rule(chain, "2", name="返2%")
    start = rule.valid_from
    client = login(chain.hq_admin)
    page = client.get(url("rebate_rule_edit", rule.pk), **EN).content.decode()
    assert 'value="返2%"' in page and 'value="2.00"' in page
    # when the percent and form change, the dates are sent back as shown
    shown = timezone.localtime(start).strftime("%Y-%m-%dT%H:%M:%S")
    data = rebate_data(name="返2%", percent="3", form="points", min_amount="0.00", valid_from=shown)
    response = client.post(url("rebate_rule_edit", rule.pk), data, **EN)
    # then
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.percent, rule.form, rule.valid_from) == (Decimal(3), "points", start)
    entry = AuditEntry.objects.get(
        subject_type="loyalty.rebaterule", subject_id=str(rule.pk), action="update"
    )
    assert (entry.before, entry.after, entry.actor) == (
        {"form": "bonus", "percent": "2.00"}, {"form": "points", "percent": "3.00"}, chain.hq_admin)  # fmt: skip


def test_a_bad_edit_changes_nothing(chain, login):
    rule = make_rule(chain, "2")
    response = login(chain.hq_admin).post(url("rebate_rule_edit", rule.pk), rebate_data(percent="101"), **EN)
    assert response.status_code == 200 and 'data-error-for="percent"' in response.content.decode()
    rule.refresh_from_db()
    assert rule.percent == Decimal(2)
    assert not AuditEntry.objects.filter(subject_type="loyalty.rebaterule", action="update").exists()


def test_switch_a_rebate_rule_off_and_on(chain, login, member_factory):
    # given
    card = sv_card(chain, member_factory())
    rule = make_rule(chain, "2")
    client = login(chain.hq_admin)
    # when switched off
    assert client.post(url("rebate_rule_toggle", rule.pk), {"active": "0"}).status_code == 302
    # then no charge gets it, and the audit log says who switched it
    rule.refresh_from_db()
    assert rule.is_active is False and rebates.rebate_for(card, chain.a1, 10_000) is None
    entry = AuditEntry.objects.get(
        subject_type="loyalty.rebaterule", subject_id=str(rule.pk), action="update"
    )
    assert (entry.before, entry.after, entry.actor) == (
        {"is_active": True},
        {"is_active": False},
        chain.hq_admin,
    )
    # when switched on again
    assert client.post(url("rebate_rule_toggle", rule.pk), {"active": "1"}).status_code == 302
    assert rebates.rebate_for(card, chain.a1, 10_000) == rule


def test_a_cashier_cannot_create_edit_or_switch_rebate_rules(chain, login):
    # given a cashier of A1 (cards.view, no products.manage) and a rule
    rule = make_rule(chain, "2")
    client = login(chain.cashier_a1)
    # when / then
    assert client.post(url("rebate_rule_create"), rebate_data(name="偷偷返")).status_code == 403
    assert client.post(url("rebate_rule_edit", rule.pk), rebate_data(percent="50")).status_code == 403
    assert client.post(url("rebate_rule_toggle", rule.pk), {"active": "0"}).status_code == 403
    assert client.get(url("rebate_rule_create")).status_code == 403
    rule.refresh_from_db()
    assert (RebateRule.objects.count(), rule.percent, rule.is_active) == (1, Decimal(2), True)
    # and the rules page shows the rule without the buttons
    body = client.get(url("rules"), **EN).content.decode()
    assert f'data-rebate-rule="{rule.pk}"' in body and url("rebate_rule_edit", rule.pk) not in body


def test_rebate_rules_of_another_merchant_are_404(chain, login):
    theirs = rebates.create_rebate_rule(None, chain.other, name="别家", percent="5")
    client = login(chain.hq_admin)
    assert client.get(url("rebate_rule_edit", theirs.pk)).status_code == 404
    assert client.post(url("rebate_rule_toggle", theirs.pk), {"active": "0"}).status_code == 404
    assert "别家" not in client.get(url("rules"), **EN).content.decode()


def test_update_service_checks_scope_fields_and_stores(chain):
    rule = make_rule(chain, "2", store=chain.a1)
    # a store manager of B1's region cannot touch A1's rule; a region node is not a store
    with pytest.raises(BusinessError) as refused:
        rebates.update_rebate_rule(chain.cashier_b1, rule, percent="3")
    assert refused.value.code == "permission_denied"
    with pytest.raises(BusinessError) as refused:
        rebates.update_rebate_rule(None, rule, store=chain.east, colour="red")
    assert refused.value.code == "validation_error" and set(refused.value.errors) == {"colour"}
    with pytest.raises(BusinessError) as refused:
        rebates.update_rebate_rule(None, rule, store=chain.east, min_amount=-5, is_active="yes")
    assert set(refused.value.errors) == {"store", "min_amount", "is_active"}
    rule.refresh_from_db()
    assert (rule.store, rule.min_amount, rule.is_active) == (chain.a1, 0, True)


# ---- the alliance flag of card products -------------------------------------------------------------------------


def product_data(**fields):
    data = {"name": "联名卡", "kind": CardKind.STORED_VALUE, "registered": "on", "consumption_order": "proportional",
            "is_active": "on"}  # fmt: skip
    return {**data, **fields}


def test_alliance_flag_round_trips_through_the_product_form_and_is_audited(chain, login):
    # given the merchant and the other merchant in one alliance
    alliance = Alliance.objects.create(name="城东商圈")
    for merchant in (chain.merchant, chain.other):
        merchant.alliance = alliance
        merchant.save(update_fields=["alliance"])
    client = login(chain.hq_admin)
    # when a product accepted at alliance merchants is created
    response = client.post(url("product_create"), product_data(alliance_accepted="on"), **EN)
    # then it is saved, audited and shown
    assert response.status_code == 302
    product = CardProduct.objects.get(name="联名卡")
    assert product.alliance_accepted is True
    created = AuditEntry.objects.get(
        subject_type="loyalty.cardproduct", subject_id=str(product.pk), action="create"
    )
    assert created.after["alliance_accepted"] is True
    assert product.accepts_store(chain.other_store) is True  # the card works at the other merchant
    body = client.get(url("products"), **EN).content.decode()
    assert 'data-alliance-accepted="1"' in body and "Alliance: “城东商圈”" in body
    page = client.get(url("product_edit", product.pk), **EN).content.decode()
    assert 'name="alliance_accepted" id="id_alliance_accepted" checked' in page
    assert "This merchant is in the alliance “城东商圈”" in page
    # when it is unticked on the edit form
    assert client.post(url("product_edit", product.pk), product_data(), **EN).status_code == 302
    # then
    product.refresh_from_db()
    assert product.alliance_accepted is False and product.accepts_store(chain.other_store) is False
    updated = AuditEntry.objects.get(
        subject_type="loyalty.cardproduct", subject_id=str(product.pk), action="update"
    )
    assert (updated.before, updated.after, updated.actor) == (
        {"alliance_accepted": True}, {"alliance_accepted": False}, chain.hq_admin)  # fmt: skip
    assert 'data-alliance-accepted="0"' in client.get(url("products"), **EN).content.decode()


def test_a_merchant_in_no_alliance_is_told_so(chain, login):
    client = login(chain.hq_admin)
    assert client.post(url("product_create"), product_data(alliance_accepted="on"), **EN).status_code == 302
    body = client.get(url("products"), **EN).content.decode()
    assert "This merchant is in no alliance" in body and "(no alliance)" in body
    page = client.get(url("product_create"), **EN).content.decode()
    assert "This merchant is in no alliance: the setting has no effect until it joins one." in page


def test_alliance_flag_must_be_a_boolean(chain):
    from onecard.loyalty.cards.products import create_product

    with pytest.raises(BusinessError) as refused:
        create_product(None, chain.merchant, name="x", kind=CardKind.STORED_VALUE, alliance_accepted="yes")
    assert refused.value.code == "validation_error" and set(refused.value.errors) == {"alliance_accepted"}
    assert not CardProduct.objects.exists()
