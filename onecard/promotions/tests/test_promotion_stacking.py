"""Saving a promotion that stacks with another on the same items: the form says so with an example basket.

The example comes from the pricing engine: a product both promotions target, at a store and a moment
where both are in force, enough units to reach the thresholds, priced with both.
"""

import datetime

import pytest
from django.utils import timezone

from onecard.catalog import services as catalog
from onecard.promotions import rules
from onecard.promotions.models import Promotion
from onecard.promotions.stacking import UNSAVED_ID, stacking_examples
from onecard.testing.promotions import make_promotion

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def bag(chain, cat):
    """A ¥100.00 canvas bag in 食品, sold everywhere."""
    return catalog.create_product(
        None, chain.merchant, sku="BAG-1", name="帆布包", category=cat.food, list_price=10000
    )


@pytest.fixture
def running():
    """A window from yesterday to a month ahead, so the promotions are in force now."""
    now = timezone.now()
    return {"valid_from": now - datetime.timedelta(days=1), "valid_to": now + datetime.timedelta(days=30)}


def _spend_off(chain, running, **overrides):
    """HQ's 满200减30 / 满500减100 on everything."""
    return make_promotion(chain, "threshold_cash", name="满200减30", **running, **overrides)


def _discount_form(chain, running, bag, **overrides):
    data = {
        "kind": "discount",
        "name": "帆布包八折",
        "node": chain.hq.pk,
        "rate": "0.8",
        "product_ids": str(bag.pk),
        "valid_from": _local(running["valid_from"]),
        "valid_to": _local(running["valid_to"]),
        "priority": "0",
        "stacks_with_coupons": "on",
        "applies_over_member_price": "on",
    }
    data.update(overrides)
    return data


def test_a_discount_on_an_item_under_a_spend_threshold_shows_the_example_and_saves_only_when_confirmed(
    chain, login, bag, running
):
    # given: 满200减30 on everything at HQ
    spend_off = _spend_off(chain, running)
    client = login(chain.hq_admin)
    # when: an 八折 on the bag is saved
    response = client.post("/promotions/new/", _discount_form(chain, running, bag), **EN)
    # then: nothing is saved; the page names the other promotion and prices an example basket:
    # 4 bags ¥400.00 → 八折 −¥80.00 each line total → ¥320.00 ≥ ¥200 → −¥30.00 → ¥290.00
    page = response.content.decode()
    assert response.status_code == 200
    assert not Promotion.objects.filter(name="帆布包八折").exists()
    assert "stacks with others on the same items" in page
    assert f'data-stacks-with="{spend_off.pk}"' in page
    assert "帆布包" in page and "¥400.00" in page and "¥290.00" in page
    assert "−¥110.00 together" in page
    assert "This promotion alone takes ¥80.00 off this basket, “满200减30” alone ¥30.00." in page
    # when: saved again with "save anyway"
    confirmed = client.post("/promotions/new/", _discount_form(chain, running, bag, stacking_confirmed="on"))
    # then: it is saved as typed
    assert confirmed.status_code == 302
    saved = Promotion.objects.get(name="帆布包八折")
    assert (saved.product_ids, saved.params) == ([bag.pk], {"rate": "0.8"})


def test_the_example_comes_from_the_pricing_engine(chain, cat, bag, running):
    # given: the same two promotions
    spend_off = _spend_off(chain, running)
    values = rules.checked_values(
        chain.merchant, chain.hq, {"kind": "discount", "name": "八折", "params": {"rate": "0.8"},
                                   "product_ids": [bag.pk], **running},
    )  # fmt: skip
    # when
    [example] = stacking_examples(chain.merchant, chain.hq, values)
    # then: one line of 4 bags, the discount and the threshold both applied, and what each takes alone
    [(name, line)] = example.lines()
    assert (name, line.quantity, line.list_total, line.due) == ("帆布包", 4, 40000, 29000)
    assert example.quote.promotions_applied == [UNSAVED_ID, spend_off.pk]
    assert example.alone == (8000, 3000)
    assert example.store.kind == "store"


def test_promotions_of_one_exclusivity_group_do_not_stack(chain, login, bag, running):
    # given: 满减 in group "spring"
    _spend_off(chain, running, exclusive_group="spring")
    client = login(chain.hq_admin)
    # when: the 八折 joins the same group
    response = client.post("/promotions/new/", _discount_form(chain, running, bag, exclusive_group="spring"))
    # then: the engine gives the customer only the better one: no warning, saved at once
    assert response.status_code == 302
    assert Promotion.objects.filter(name="帆布包八折").exists()


def test_no_warning_when_the_promotions_never_meet(chain, login, cat, bag, running):
    client = login(chain.hq_admin)
    # given: a 满减 only at store B1, one only on Mondays, one on another category, one that has ended
    _spend_off(chain, running, node=chain.north, store_ids=[chain.b1.pk])
    _spend_off(chain, running, weekdays=[1])
    _spend_off(chain, running, category_ids=[cat.tea.pk])
    now = timezone.now()
    make_promotion(
        chain,
        "threshold_cash",
        valid_from=now - datetime.timedelta(days=9),
        valid_to=now - datetime.timedelta(days=1),
    )
    # when: the 八折 is for store A1 on Tuesdays
    form = _discount_form(chain, running, bag, node=chain.east.pk, stores=[chain.a1.pk], weekdays=["2"])
    response = client.post("/promotions/new/", form)
    # then: saved without a warning
    assert response.status_code == 302


def test_daily_hours_that_meet_are_found(chain, bag, running):
    # given: a 满减 from 17:00 to 19:00 on Fridays
    friday = _spend_off(chain, running, weekdays=[5], time_from=datetime.time(17), time_to=datetime.time(19))
    values = rules.checked_values(
        chain.merchant, chain.hq, {"kind": "discount", "name": "晚市", "params": {"rate": "0.8"},
                                   "product_ids": [bag.pk], "time_from": datetime.time(18, 30),
                                   "time_to": datetime.time(22), **running},
    )  # fmt: skip
    # when
    [example] = stacking_examples(chain.merchant, chain.hq, values)
    # then: the example is on a Friday at 18:30, when both are on
    at = timezone.localtime(example.at)
    assert (example.other, at.isoweekday(), at.time()) == (friday, 5, datetime.time(18, 30))


def test_editing_a_promotion_does_not_compare_it_with_itself(chain, login, bag, running):
    # given: the 八折 saved alone
    discount = make_promotion(
        chain, "discount", name="八折", params={"rate": "0.8"}, product_ids=[bag.pk], **running
    )
    client = login(chain.hq_admin)
    # when: it is edited
    response = client.post(
        f"/promotions/{discount.pk}/", _discount_form(chain, running, bag, name="七五折", rate="0.75")
    )
    # then: saved without a warning
    assert response.status_code == 302
    discount.refresh_from_db()
    assert discount.params == {"rate": "0.75"}


def test_a_refused_promotion_shows_its_error_not_a_stacking_warning(chain, login, bag, running):
    _spend_off(chain, running)
    client = login(chain.hq_admin)
    response = client.post("/promotions/new/", _discount_form(chain, running, bag, rate="1.5"), **EN)
    page = response.content.decode()
    assert response.status_code == 400
    assert "The rate is the share of the price paid" in page and "data-stacking" not in page
    assert not Promotion.objects.filter(name="帆布包八折").exists()
