"""Promotion services: validation per kind, audit, scope, promotions in force, limited-quantity reservations."""

import datetime

import pytest

from onecard.core.errors import BusinessError
from onecard.core.models import AuditEntry
from onecard.promotions import rules
from onecard.promotions.models import Promotion, PromotionUse
from onecard.testing.concurrency import run_clients
from onecard.testing.promotions import AT, PARAMS, make_promotion, promotion_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", list(PARAMS))
def test_every_kind_is_created_and_audited(chain, kind):
    # given: valid data of the kind; when: HQ creates it
    promotion = make_promotion(chain, kind, actor=chain.hq_admin)
    # then: stored with normalised parameters and one audit row
    assert promotion.kind == kind
    assert (
        AuditEntry.objects.filter(subject_type="promotions.promotion", subject_id=str(promotion.pk)).count()
        == 1
    )


def test_rates_and_steps_are_normalised(chain):
    promotion = make_promotion(
        chain,
        "threshold_cash",
        params={"steps": [{"min": 50000, "off": 10000}, {"min": 20000, "off": 3000}]},
    )
    assert promotion.params["steps"] == [{"min": 20000, "off": 3000}, {"min": 50000, "off": 10000}]
    assert make_promotion(chain, "discount", params={"rate": "0.850"}).params == {"rate": "0.85"}


BAD = [
    ({"name": "  "}, "promotion_name_required"),
    ({"kind": "lottery"}, "promotion_invalid_kind"),
    ({"params": {"rate": "0.9", "extra": 1}}, "promotion_unknown_parameter"),
    ({"params": {"rate": "1.2"}}, "promotion_invalid_rate"),
    ({"params": {"rate": "0"}}, "promotion_invalid_rate"),
    ({"params": {"rate": "0.8555"}}, "promotion_invalid_rate"),
    ({"params": {"rate": 0.9}}, "promotion_invalid_rate"),
    ({"kind": "member_price", "params": {"rate": "0.9", "tier_ids": [999999]}}, "promotion_invalid_tiers"),
    ({"kind": "threshold_cash", "params": {"steps": []}}, "promotion_invalid_steps"),
    (
        {"kind": "threshold_cash", "params": {"steps": [{"min": 1000, "off": 2000}]}},
        "promotion_invalid_steps",
    ),
    (
        {
            "kind": "threshold_cash",
            "params": {"steps": [{"min": 1000, "off": 100}, {"min": 2000, "off": 50}]},
        },
        "promotion_invalid_steps",
    ),
    (
        {
            "kind": "threshold_cash",
            "params": {"steps": [{"min": 1, "off": 1}, {"min": 2, "off": 2}], "repeat": True},
        },
        "promotion_invalid_steps",
    ),
    ({"kind": "threshold_discount", "params": {"min": 0, "rate": "0.9"}}, "promotion_invalid_threshold"),
    ({"kind": "threshold_gift", "params": {"min": 100, "gift_product_id": "x"}}, "promotion_invalid_gift"),
    ({"kind": "buy_x_get_y", "params": {"buy": 2, "free": 0}}, "promotion_invalid_buy_get"),
    ({"kind": "nth_discount", "params": {"nth": 1, "rate": "0.5"}}, "promotion_invalid_nth"),
    ({"kind": "bundle", "params": {"product_ids": [1], "price": 100}}, "promotion_invalid_bundle"),
    ({"kind": "bundle", "params": {"product_ids": [1, 2], "price": 0}}, "promotion_invalid_bundle"),
    ({"kind": "birthday", "params": {"window": "year", "rate": "0.9"}}, "promotion_invalid_window"),
    (
        {"kind": "birthday", "params": {"window": "day", "rate": "0.9", "amount_off": 100}},
        "promotion_invalid_birthday_offer",
    ),
    ({"kind": "birthday", "params": {"window": "day", "amount_off": -5}}, "promotion_invalid_amount"),
    ({"product_ids": ["a"]}, "promotion_invalid_targets"),
    ({"valid_to": AT - datetime.timedelta(days=30)}, "promotion_invalid_dates"),
    ({"weekdays": [0]}, "promotion_invalid_weekdays"),
    ({"weekdays": [8]}, "promotion_invalid_weekdays"),
    ({"time_from": datetime.time(10, 0)}, "promotion_invalid_time_window"),
    ({"time_from": datetime.time(10, 0), "time_to": datetime.time(9, 0)}, "promotion_invalid_time_window"),
    ({"stock_total": 0}, "promotion_invalid_limit"),
    ({"per_member_limit": -1}, "promotion_invalid_limit"),
]


@pytest.mark.parametrize(("overrides", "code"), BAD, ids=[code + str(n) for n, (_o, code) in enumerate(BAD)])
def test_each_bad_field_has_its_code_and_nothing_is_saved(chain, overrides, code):
    # given: data with one bad field (of the kind named, a % off otherwise); when: created
    rest = dict(overrides)
    kind = rest.pop("kind", "discount")
    data = {**promotion_data(kind if kind in PARAMS else "discount"), **rest, "kind": kind}
    with pytest.raises(BusinessError) as caught:
        rules.create_promotion(chain.hq_admin, chain.merchant, chain.hq, data)
    # then: refused with that code, nothing written
    assert caught.value.code == code
    assert Promotion.objects.count() == 0
    assert not AuditEntry.objects.filter(subject_type="promotions.promotion").exists()


def test_owner_must_be_hq_or_region_of_the_merchant(chain):
    for node in (chain.a1, chain.other_hq):
        with pytest.raises(BusinessError) as caught:
            rules.create_promotion(None, chain.merchant, node, promotion_data())
        assert caught.value.code == "promotion_invalid_owner"


def test_region_manager_works_only_for_its_region(chain):
    # given: the East region manager
    # when: they create for East, narrowed to A1 → allowed
    promotion = make_promotion(chain, node=chain.east, actor=chain.region_manager, store_ids=[chain.a1.pk])
    assert promotion.store_ids == [chain.a1.pk]
    # then: for HQ they are refused; a North store is not under East
    with pytest.raises(BusinessError) as caught:
        make_promotion(chain, node=chain.hq, actor=chain.region_manager)
    assert caught.value.code == "permission_denied"
    with pytest.raises(BusinessError) as caught:
        make_promotion(chain, node=chain.east, actor=chain.region_manager, store_ids=[chain.b1.pk])
    assert caught.value.code == "promotion_invalid_stores"
    # and: they cannot change or deactivate HQ's promotion
    hq_promotion = make_promotion(chain)
    with pytest.raises(BusinessError):
        rules.deactivate_promotion(chain.region_manager, hq_promotion)
    assert Promotion.objects.get(pk=hq_promotion.pk).active


def test_update_changes_and_audits_the_difference(chain):
    promotion = make_promotion(chain, actor=chain.hq_admin)
    updated = rules.update_promotion(chain.hq_admin, promotion, {"name": "九折", "params": {"rate": "0.9"}})
    assert (updated.name, updated.params) == ("九折", {"rate": "0.9"})
    entry = AuditEntry.objects.filter(subject_id=str(promotion.pk), action="update").get()
    assert entry.after == {"name": "九折", "params": {"rate": "0.9"}}


def test_bad_update_changes_nothing(chain):
    promotion = make_promotion(chain)
    with pytest.raises(BusinessError) as caught:
        rules.update_promotion(chain.hq_admin, promotion, {"name": "x", "params": {"rate": "2"}})
    assert caught.value.code == "promotion_invalid_rate"
    promotion.refresh_from_db()
    assert promotion.name == "Test discount"


def test_deactivate(chain):
    promotion = make_promotion(chain)
    rules.deactivate_promotion(chain.hq_admin, promotion)
    assert not Promotion.objects.get(pk=promotion.pk).active
    assert rules.active_promotions(chain.merchant, chain.a1, AT) == []


def test_active_promotions_follow_owner_stores_dates_and_windows(chain):
    # given: promotions of HQ, East, North, East narrowed to A2, a weekend one and a morning one
    hq = make_promotion(chain, name="hq")
    east = make_promotion(chain, node=chain.east, name="east")
    make_promotion(chain, node=chain.north, name="north")
    make_promotion(chain, node=chain.east, name="a2 only", store_ids=[chain.a2.pk])
    make_promotion(chain, name="weekend", weekdays=[6, 7])
    morning = make_promotion(chain, name="morning", time_from=datetime.time(9), time_to=datetime.time(12, 30))
    make_promotion(chain, name="later", valid_from=AT + datetime.timedelta(hours=1))
    # when: A1 asks at Wednesday noon
    names = {p.name for p in rules.active_promotions(chain.merchant, chain.a1, AT)}
    # then: HQ's, East's and the morning one (12:00 < 12:30)
    assert names == {hq.name, east.name, morning.name}
    after_morning = AT + datetime.timedelta(minutes=30)
    assert morning.name not in {
        p.name for p in rules.active_promotions(chain.merchant, chain.a1, after_morning)
    }
    assert {p.name for p in rules.active_promotions(chain.merchant, chain.a2, AT)} >= {"a2 only"}


def test_reserve_counts_stock_and_member_caps_and_release_gives_back(chain, member_factory):
    # given: 3 in stock, 2 per member
    promotion = make_promotion(chain, stock_total=3, per_member_limit=2)
    alice, bob = member_factory(), member_factory()
    rules.reserve(promotion, alice, 2, "S1")
    # when: Alice wants one more → her cap; Bob takes the last one; then the shop is sold out
    with pytest.raises(BusinessError) as caught:
        rules.reserve(promotion, alice, 1, "S2")
    assert caught.value.code == "promotion_member_limit"
    rules.reserve(promotion, bob, 1, "S3")
    with pytest.raises(BusinessError) as caught:
        rules.reserve(promotion, bob, 1, "S4")
    assert caught.value.code == "promotion_sold_out"
    assert rules.used_counts([promotion], alice) == {promotion.pk: (3, 2)}
    # and: the same sale reserving again gets its use back; a return releases the units
    assert rules.reserve(promotion, alice, 2, "S1").sale_ref == "S1"
    assert rules.release("S1") == 1
    assert rules.release("S1") == 0
    assert rules.used_counts([promotion], alice) == {promotion.pk: (1, 0)}
    rules.reserve(promotion, alice, 1, "S5")


def test_reserve_refuses_an_inactive_promotion(chain):
    promotion = make_promotion(chain, stock_total=3)
    rules.deactivate_promotion(None, promotion)
    with pytest.raises(BusinessError) as caught:
        rules.reserve(promotion, None, 1, "S1")
    assert caught.value.code == "promotion_inactive"
    assert not PromotionUse.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_reservations_against_ten_left(chain, member_factory):
    # given: a promotion with 10 left
    promotion = make_promotion(chain, stock_total=10)
    outcomes = []

    # when: 50 checkouts reserve one unit each at once
    def client(n):
        try:
            rules.reserve(promotion, None, 1, f"SALE-{n}")
            outcomes.append("ok")
        except BusinessError as error:
            outcomes.append(error.code)

    run_clients(50, client)
    # then: exactly 10 succeed, the other 40 are told it is sold out
    assert outcomes.count("ok") == 10
    assert outcomes.count("promotion_sold_out") == 40
    assert PromotionUse.objects.filter(promotion=promotion).count() == 10
