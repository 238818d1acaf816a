"""Promotion pages: list with filters and scope, a form per kind (no JSON), edit, deactivate, permissions."""

import pytest

from onecard.promotions.models import Promotion
from onecard.testing.promotions import make_promotion

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _form(**overrides):
    data = {
        "kind": "threshold_cash",
        "name": "满200减30",
        "valid_from": "2026-06-01T00:00",
        "valid_to": "2026-07-01T00:00",
        "priority": "0",
        "steps": "200-30, 500-100",
        "stacks_with_coupons": "on",
        "applies_over_member_price": "on",
    }
    data.update(overrides)
    return data


def test_list_filters_by_kind_status_and_store(chain, login):
    # given: an HQ % off, a North 满减, a stopped one, and an East one narrowed to A2
    make_promotion(chain, name="hq off")
    make_promotion(chain, "threshold_cash", node=chain.north, name="north spend")
    stopped = make_promotion(chain, name="stopped")
    Promotion.objects.filter(pk=stopped.pk).update(active=False)
    make_promotion(chain, node=chain.east, name="a2 only", store_ids=[chain.a2.pk])
    client = login(chain.hq_admin)
    # when/then: each filter narrows the list
    page = client.get("/promotions/", **EN).content.decode()
    assert all(name in page for name in ("hq off", "north spend", "stopped", "a2 only"))
    page = client.get("/promotions/?kind=threshold_cash", **EN).content.decode()
    assert "north spend" in page and "hq off" not in page
    page = client.get("/promotions/?active=no", **EN).content.decode()
    assert "stopped" in page and "hq off" not in page
    page = client.get(f"/promotions/?store={chain.a1.pk}&active=yes", **EN).content.decode()
    assert "hq off" in page and "north spend" not in page and "a2 only" not in page


def test_region_manager_sees_hq_and_own_region_and_manages_only_its_own(chain, login):
    hq = make_promotion(chain, name="hq off")
    make_promotion(chain, node=chain.north, name="north spend")
    east = make_promotion(chain, node=chain.east, name="east off")
    client = login(chain.region_manager)
    page = client.get("/promotions/", **EN).content.decode()
    assert "hq off" in page and "east off" in page and "north spend" not in page
    assert f"/promotions/{east.pk}/" in page and f'/promotions/{hq.pk}/"' not in page
    assert client.get(f"/promotions/{hq.pk}/").status_code == 403
    assert client.post(f"/promotions/{hq.pk}/deactivate/").status_code == 403
    assert Promotion.objects.get(pk=hq.pk).active


def test_create_a_threshold_promotion_from_the_form(chain, login):
    client = login(chain.hq_admin)
    # given: the kind chooser and the 满减 form
    assert "threshold_cash" in client.get("/promotions/new/", **EN).content.decode()
    form_page = client.get("/promotions/new/?kind=threshold_cash", **EN).content.decode()
    assert 'name="steps"' in form_page and 'name="rate"' not in form_page
    # when: posted with steps in yuan
    response = client.post("/promotions/new/?kind=threshold_cash", _form(node=chain.hq.pk), **EN)
    # then: stored in fen
    assert response.status_code == 302
    promotion = Promotion.objects.get()
    assert promotion.params == {
        "steps": [{"min": 20000, "off": 3000}, {"min": 50000, "off": 10000}],
        "repeat": False,
    }
    assert promotion.node == chain.hq


def test_create_birthday_and_bundle(chain, login):
    client = login(chain.hq_admin)
    birthday = _form(kind="birthday", name="生日月", window="month", amount_off="20", node=chain.hq.pk)
    assert client.post("/promotions/new/", birthday).status_code == 302
    bundle = _form(kind="bundle", name="套餐", bundle_products="1, 2", bundle_price="49.90", node=chain.hq.pk)
    assert client.post("/promotions/new/", bundle).status_code == 302
    params = {p.kind: p.params for p in Promotion.objects.all()}
    assert params == {
        "birthday": {"window": "month", "amount_off": 2000},
        "bundle": {"product_ids": [1, 2], "price": 4990},
    }


def test_bad_parameter_shows_the_service_message_and_saves_nothing(chain, login):
    client = login(chain.hq_admin)
    response = client.post("/promotions/new/", _form(steps="100-300", node=chain.hq.pk), **EN)
    assert response.status_code == 400
    assert "amount off between 0 and it" in response.content.decode()
    response = client.post("/promotions/new/", _form(steps="abc", node=chain.hq.pk), **EN)
    assert response.status_code == 400
    assert not Promotion.objects.exists()


def test_region_manager_cannot_pick_hq_as_owner(chain, login):
    client = login(chain.region_manager)
    response = client.post("/promotions/new/", _form(node=chain.hq.pk), **EN)
    assert response.status_code == 400
    assert not Promotion.objects.exists()
    assert client.post("/promotions/new/", _form(node=chain.east.pk)).status_code == 302


def test_edit_and_deactivate(chain, login):
    promotion = make_promotion(chain, "threshold_cash", params={"steps": [{"min": 20000, "off": 3000}]})
    client = login(chain.hq_admin)
    page = client.get(f"/promotions/{promotion.pk}/", **EN).content.decode()
    assert 'value="200.00-30.00"' in page
    response = client.post(
        f"/promotions/{promotion.pk}/", _form(name="满300减50", steps="300-50", node=chain.hq.pk)
    )
    assert response.status_code == 302
    promotion.refresh_from_db()
    assert (promotion.name, promotion.params["steps"]) == ("满300减50", [{"min": 30000, "off": 5000}])
    assert client.post(f"/promotions/{promotion.pk}/deactivate/").status_code == 302
    promotion.refresh_from_db()
    assert not promotion.active


def test_permissions(chain, login):
    promotion = make_promotion(chain)
    cashier = login(chain.cashier_a1)
    assert cashier.get("/promotions/").status_code == 403
    assert cashier.get("/promotions/new/").status_code == 403
    other = login(chain.other_manager)
    assert other.get(f"/promotions/{promotion.pk}/").status_code in (403, 404)


def test_create_member_price_and_nth_item_from_the_form(chain, login):
    client = login(chain.hq_admin)
    member = _form(kind="member_price", name="会员九折", rate="0.90", node=chain.hq.pk, category_ids="3, 4")
    assert client.post("/promotions/new/", member).status_code == 302
    nth = _form(
        kind="nth_discount", name="第二件半价", nth="2", rate="0.5", node=chain.east.pk, stores=[chain.a1.pk]
    )
    assert client.post("/promotions/new/", nth).status_code == 302
    rows = {p.kind: p for p in Promotion.objects.all()}
    assert rows["member_price"].params == {"rate": "0.9", "tier_ids": []}
    assert rows["member_price"].category_ids == [3, 4]
    assert (rows["nth_discount"].params, rows["nth_discount"].store_ids) == (
        {"nth": 2, "rate": "0.5"},
        [chain.a1.pk],
    )
