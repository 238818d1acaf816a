"""API v1 for members: scoping, search, masking, audited reveal, duplicates, validation, merge, transfer."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onecard.core.api import CappedCountPagination
from onecard.core.models import AuditEntry
from onecard.core.validators import id_number_check_digit
from onecard.members import labels, services
from onecard.members.choices import MemberStatus
from onecard.members.models import ConsentRecord, Contact, CustomField, Member, Tag

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

URL = "/api/v1/members/"


def _ids(response):
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def three_stores(chain, member_factory):
    """One member in each of A1, A2 and B1, all called 张三 and sharing the last four digits 0000 of B1."""
    return {
        "a1": member_factory(store=chain.a1, phone="13800001111"),
        "a2": member_factory(store=chain.a2, phone="13800002222"),
        "b1": member_factory(store=chain.b1, phone="13800003333"),
    }


# ---- scoping ----------------------------------------------------------------------------------------------


def test_cashier_lists_only_members_of_own_store(chain, three_stores, api):
    # when
    response = api(chain.cashier_a1).get(URL)
    # then
    assert response.status_code == 200
    assert _ids(response) == {str(three_stores["a1"].pk)}
    assert response.json()["count"] == 1
    assert response.json()["count_capped"] is False


def test_cashier_gets_404_for_a_member_of_another_store(chain, three_stores, api):
    response = api(chain.cashier_a1).get(f"{URL}{three_stores['b1'].pk}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_search_never_leaks_members_of_other_stores(chain, three_stores, api):
    client = api(chain.cashier_a1)
    b1 = three_stores["b1"]
    for q in ("13800003333", "3333", b1.member_no, "张", "zs", "zhangsan"):
        # when
        response = client.get(URL, {"q": q})
        # then
        assert str(b1.pk) not in _ids(response), q
    assert _ids(client.get(URL, {"q": "zs"})) == {str(three_stores["a1"].pk)}
    assert _ids(client.get(URL, {"q": "1111"})) == {str(three_stores["a1"].pk)}
    assert _ids(client.get(URL, {"q": "3333"})) == set()


def test_region_manager_sees_both_east_stores_but_not_north(chain, three_stores, api):
    response = api(chain.region_manager).get(URL)
    assert _ids(response) == {str(three_stores["a1"].pk), str(three_stores["a2"].pk)}


def test_other_merchant_sees_none(chain, three_stores, api):
    client = api(chain.other_manager)
    assert _ids(client.get(URL)) == set()
    assert client.get(f"{URL}{three_stores['a1'].pk}/").status_code == 404


def test_filters_match_the_member_list_page(chain, member_factory, api):
    # given
    vip = labels.create_tag(None, chain.merchant, "VIP")
    tagged = member_factory(store=chain.a2, tags=[vip], source="online", marketing_consent=True)
    company = member_factory(store=chain.a1, kind="company", name="某公司")
    owned = member_factory(store=chain.a1, owner=chain.sales)
    client = api(chain.hq_admin)
    # when / then
    assert _ids(client.get(URL, {"tag": vip.pk})) == {str(tagged.pk)}
    assert _ids(client.get(URL, {"store": chain.a2.pk})) == {str(tagged.pk)}
    assert _ids(client.get(URL, {"source": "online"})) == {str(tagged.pk)}
    assert _ids(client.get(URL, {"consent": "yes"})) == {str(tagged.pk)}
    assert _ids(client.get(URL, {"kind": "company"})) == {str(company.pk)}
    assert _ids(client.get(URL, {"owner": chain.sales.pk})) == {str(owned.pk)}
    assert str(owned.pk) not in _ids(client.get(URL, {"owner": "none"}))


def test_store_filter_cannot_widen_the_scope(chain, three_stores, api):
    response = api(chain.cashier_a1).get(URL, {"store": chain.hq.pk})
    assert _ids(response) == {str(three_stores["a1"].pk)}


# ---- representation and masking ------------------------------------------------------------------------


def _valid_id_number():
    first17 = "11010519900307123"
    return first17 + id_number_check_digit(first17)


def test_member_detail_masks_phone_and_id_number(chain, member_factory, api):
    # given
    member = member_factory(phone="13812345678", id_number=_valid_id_number())
    # when
    body = api(chain.store_manager).get(f"{URL}{member.pk}/").json()
    # then
    assert body["phone_masked"] == "138****5678"
    assert body["id_number_masked"] == "1101**********" + _valid_id_number()[-4:]
    assert "phone" not in body and "id_number" not in body
    assert "13812345678" not in str(body)
    assert body["id"] == str(member.pk)
    assert body["member_no"] == member.member_no
    assert isinstance(body["member_no"], str)
    assert body["home_store"] == str(chain.a1.pk)
    assert body["created_at"].endswith("+08:00")


def test_list_masks_phone_too(chain, member_factory, api):
    member_factory(phone="13812345678")
    body = api(chain.cashier_a1).get(URL).json()
    assert body["results"][0]["phone_masked"] == "138****5678"
    assert "13812345678" not in str(body)


def test_list_query_count_does_not_grow_with_rows(chain, member_factory, api):
    # given
    vip = labels.create_tag(None, chain.merchant, "VIP")
    for _ in range(3):
        member_factory(tags=[vip], owner=chain.sales)
    client = api(chain.cashier_a1)
    client.get(URL)  # warm up
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for _ in range(10):
        member_factory(tags=[vip], owner=chain.sales)
    # when
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)
    # then
    assert response.json()["count"] == 13
    assert len(many) == len(few)
    # reading the page, then recording who saw it (the access and its members, in one savepoint)
    assert len(many) <= 11


def test_count_is_capped_on_big_lists(chain, member_factory, api, monkeypatch):
    # given
    monkeypatch.setattr(CappedCountPagination, "CAP", 3)
    for _ in range(5):
        member_factory()
    # when
    body = api(chain.cashier_a1).get(URL, {"page_size": 2}).json()
    # then
    assert body["count"] == 3
    assert body["count_capped"] is True
    assert len(body["results"]) == 2
    assert "page=2" in body["next"]


# ---- create, update, duplicates, validation ---------------------------------------------------------------


def test_cashier_registers_a_member_in_own_store(chain, api):
    # when
    response = api(chain.cashier_a1).post(
        URL, {"name": "李四", "phone": "139 1234 5678", "birthday": "1990-05-01"}, format="json"
    )
    # then
    assert response.status_code == 201
    body = response.json()
    member = Member.objects.get(pk=body["id"])
    assert member.phone == "13912345678"
    assert member.home_store == chain.a1
    assert body["phone_masked"] == "139****5678"
    assert body["birthday"] == "1990-05-01"
    assert AuditEntry.objects.filter(
        action="create", subject_type="members.member", subject_id=str(member.pk), actor=chain.cashier_a1
    ).exists()


def test_duplicate_phone_is_409_with_the_existing_member(chain, member_factory, api):
    # given
    first = member_factory(phone="13912345678")
    # when
    response = api(chain.cashier_a1).post(URL, {"name": "李四", "phone": "+86 13912345678"}, format="json")
    # then
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "duplicate_phone"
    assert body["extra"]["existing_member"] == {
        "id": str(first.pk),
        "member_no": first.member_no,
        "url": f"/members/{first.pk}/",
    }
    assert first.member_no in body["detail"]
    assert Member.objects.count() == 1


def test_duplicate_phone_that_slips_past_the_check_is_still_409(chain, member_factory, api, monkeypatch):
    # given: another request registered the phone between the check and the insert (a race)
    first = member_factory(phone="13912345678")
    real_conflict = services.phone_conflict
    calls = {"n": 0}

    def conflict_missed_once(*args, **kwargs):
        calls["n"] += 1
        return None if calls["n"] == 1 else real_conflict(*args, **kwargs)

    monkeypatch.setattr(services, "phone_conflict", conflict_missed_once)
    # when
    response = api(chain.cashier_a1).post(URL, {"name": "李四", "phone": "13912345678"}, format="json")
    # then
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_phone"
    assert response.json()["extra"]["existing_member"]["id"] == str(first.pk)


def test_validation_error_body_in_english(chain, api):
    # when
    response = api(chain.cashier_a1, lang="en").post(
        URL, {"name": "王五", "phone": "12345", "birthday": "1990-13-40"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["status"] == 400
    assert body["detail"] == "Some fields are not valid."
    assert body["errors"] == {
        "phone": ["The phone number is not in a valid format."],
        "birthday": ["The date is not valid; write it as 1990-05-01."],
    }
    assert Member.objects.count() == 0


def test_validation_error_in_chinese(chain, api):
    response = api(chain.cashier_a1, lang="zh-hans").post(
        URL, {"name": "王五", "phone": "12345"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["detail"] == "部分字段填写有误。"
    assert response.json()["errors"]["phone"] == ["手机号格式不正确。"]


def test_missing_name_is_a_field_error(chain, api):
    response = api(chain.cashier_a1).post(URL, {"phone": "13912345678"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["This field is required."]}


def test_cashier_cannot_register_in_another_store(chain, api):
    response = api(chain.cashier_a1).post(
        URL, {"name": "王五", "phone": "13700000001", "home_store": str(chain.b1.pk)}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"home_store": ["You can only register members in your own stores."]}


def test_marketer_cannot_register_members(chain, api):
    response = api(chain.marketer).post(URL, {"name": "王五", "phone": "13700000001"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_patch_changes_only_given_fields(chain, member_factory, api):
    # given
    vip = labels.create_tag(None, chain.merchant, "VIP")
    member = member_factory(address="旧地址", email="a@example.com")
    # when
    response = api(chain.cashier_a1).patch(
        f"{URL}{member.pk}/", {"address": "新地址", "tags": [str(vip.pk)]}, format="json"
    )
    # then
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.address == "新地址"
    assert member.email == "a@example.com"
    assert response.json()["tags"] == [{"id": str(vip.pk), "name": "VIP", "color": vip.color}]


def test_patch_to_a_taken_phone_is_409(chain, member_factory, api):
    first = member_factory(phone="13912345678")
    second = member_factory(phone="13912340000")
    response = api(chain.cashier_a1).patch(f"{URL}{second.pk}/", {"phone": "13912345678"}, format="json")
    assert response.status_code == 409
    assert response.json()["extra"]["existing_member"]["id"] == str(first.pk)


def test_patch_of_a_member_outside_scope_is_404(chain, three_stores, api):
    response = api(chain.cashier_a1).patch(f"{URL}{three_stores['b1'].pk}/", {"address": "x"}, format="json")
    assert response.status_code == 404
    three_stores["b1"].refresh_from_db()
    assert three_stores["b1"].address == ""


def test_put_is_not_offered(chain, member_factory, api):
    member = member_factory()
    response = api(chain.cashier_a1).put(f"{URL}{member.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# ---- reveal and consent --------------------------------------------------------------------------------


def test_store_manager_reveals_the_phone_and_it_is_audited(chain, member_factory, api):
    # given
    member = member_factory(phone="13812345678")
    # when
    response = api(chain.store_manager).post(
        f"{URL}{member.pk}/reveal/", {"field": "phone", "purpose": "Delivery"}, format="json"
    )
    # then
    assert response.status_code == 200
    assert response.json() == {"field": "phone", "value": "13812345678"}
    assert response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action="reveal", subject_id=str(member.pk))
    assert entry.actor == chain.store_manager
    assert entry.after == {"field": "phone", "purpose": "Delivery"}


def test_cashier_may_not_reveal(chain, member_factory, api):
    member = member_factory(phone="13812345678")
    response = api(chain.cashier_a1).post(
        f"{URL}{member.pk}/reveal/", {"field": "phone", "purpose": "Delivery"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "13812345678" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_reveal_of_other_field_is_a_validation_error(chain, member_factory, api):
    member = member_factory()
    response = api(chain.store_manager).post(
        f"{URL}{member.pk}/reveal/", {"field": "email", "purpose": "Delivery"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["field"]


def test_consent_is_recorded_with_source(chain, member_factory, api):
    member = member_factory()
    response = api(chain.cashier_a1).post(
        f"{URL}{member.pk}/consent/", {"granted": True, "source": "paper form"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["marketing_consent"] is True
    assert response.json()["consent_source"] == "paper form"
    record = ConsentRecord.objects.get(member=member)
    assert (record.granted, record.source, record.actor) == (True, "paper form", chain.cashier_a1)


# ---- merge and transfer --------------------------------------------------------------------------------


def test_merge_two_records(chain, member_factory, api):
    # given
    survivor = member_factory(phone="13900000001")
    merged = member_factory(phone="13900000002", email="old@example.com")
    # when
    response = api(chain.store_manager).post(
        f"{URL}merge/", {"survivor": str(survivor.pk), "merged": merged.pk}, format="json"
    )
    # then
    assert response.status_code == 200
    assert response.json()["survivor"]["id"] == str(survivor.pk)
    assert response.json()["survivor"]["email"] == "old@example.com"
    assert response.json()["merged"] == str(merged.pk)
    merged.refresh_from_db()
    assert merged.status == MemberStatus.MERGED
    assert merged.merged_into_id == survivor.pk


def test_merge_with_a_member_outside_scope_is_404(chain, three_stores, api):
    response = api(chain.store_manager).post(
        f"{URL}merge/", {"survivor": three_stores["a1"].pk, "merged": three_stores["b1"].pk}, format="json"
    )
    assert response.status_code == 404
    assert Member.objects.filter(status=MemberStatus.MERGED).count() == 0


def test_cashier_may_not_merge(chain, member_factory, api):
    a, b = member_factory(), member_factory()
    response = api(chain.cashier_a1).post(f"{URL}merge/", {"survivor": a.pk, "merged": b.pk}, format="json")
    assert response.status_code == 403


def test_transfer_listed_members(chain, member_factory, api):
    # given
    a, b = member_factory(), member_factory()
    # when
    response = api(chain.store_manager).post(
        f"{URL}transfer/",
        {"members": [str(a.pk), b.pk], "to_owner": str(chain.sales.pk), "reason": "new rep"},
        format="json",
    )
    # then
    assert response.status_code == 200
    assert response.json() == {"moved": 2}
    assert set(Member.objects.filter(owner=chain.sales).values_list("pk", flat=True)) == {a.pk, b.pk}
    assert AuditEntry.objects.filter(action="transfer").count() == 1


def test_transfer_every_member_from_a_leaving_owner(chain, member_factory, api):
    member_factory(owner=chain.sales)
    member_factory(owner=chain.sales)
    response = api(chain.store_manager).post(
        f"{URL}transfer/", {"from_owner": chain.sales.pk, "to_owner": chain.store_manager.pk}, format="json"
    )
    assert response.json() == {"moved": 2}
    assert Member.objects.filter(owner=chain.store_manager).count() == 2


def test_transfer_of_members_outside_scope_is_refused(chain, three_stores, api):
    response = api(chain.store_manager).post(
        f"{URL}transfer/",
        {"members": [three_stores["b1"].pk], "to_owner": chain.sales.pk},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["members"]
    three_stores["b1"].refresh_from_db()
    assert three_stores["b1"].owner is None


def test_transfer_needs_members_or_from_owner(chain, api):
    response = api(chain.store_manager).post(f"{URL}transfer/", {"to_owner": chain.sales.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


# ---- contacts, tags, custom fields ---------------------------------------------------------------------


def test_contact_crud_with_masked_phone(chain, member_factory, api):
    # given
    company = member_factory(kind="company", name="某公司")
    client = api(chain.cashier_a1)
    base = f"{URL}{company.pk}/contacts/"
    # when: create
    created = client.post(base, {"name": "王经理", "phone": "13712345678", "is_primary": True}, format="json")
    # then
    assert created.status_code == 201
    contact_id = created.json()["id"]
    assert created.json()["phone_masked"] == "137****5678"
    assert created.json()["member"] == str(company.pk)
    # list, patch, delete
    assert [c["id"] for c in client.get(base).json()] == [contact_id]
    patched = client.patch(f"{base}{contact_id}/", {"title": "采购"}, format="json")
    assert patched.json()["title"] == "采购"
    assert patched.json()["name"] == "王经理"
    assert client.delete(f"{base}{contact_id}/").status_code == 204
    assert not Contact.objects.exists()


def test_contacts_of_a_member_outside_scope_are_404(chain, three_stores, api):
    response = api(chain.cashier_a1).get(f"{URL}{three_stores['b1'].pk}/contacts/")
    assert response.status_code == 404


def test_tags_list_create_delete(chain, api):
    # given
    admin = api(chain.hq_admin)
    # when
    created = admin.post("/api/v1/tags/", {"name": "VIP", "color": "#ff0000"}, format="json")
    # then
    assert created.status_code == 201
    tag_id = created.json()["id"]
    assert Tag.objects.get(pk=tag_id).merchant == chain.merchant
    assert [t["name"] for t in api(chain.cashier_a1).get("/api/v1/tags/").json()["results"]] == ["VIP"]
    assert api(chain.other_manager).get("/api/v1/tags/").json()["results"] == []
    assert admin.post("/api/v1/tags/", {"name": "VIP"}, format="json").json()["code"] == "validation_error"
    assert api(chain.cashier_a1).delete(f"/api/v1/tags/{tag_id}/").status_code == 403
    assert admin.delete(f"/api/v1/tags/{tag_id}/").status_code == 204
    assert not Tag.objects.exists()


def test_custom_fields_list_create_delete(chain, api):
    admin = api(chain.hq_admin)
    created = admin.post(
        "/api/v1/custom-fields/",
        {"key": "shoe_size", "label": "鞋码", "field_type": "number"},
        format="json",
    )
    assert created.status_code == 201
    field_id = created.json()["id"]
    listed = api(chain.cashier_a1).get("/api/v1/custom-fields/").json()["results"]
    assert [(f["key"], f["field_type"]) for f in listed] == [("shoe_size", "number")]
    assert (
        api(chain.cashier_a1)
        .post("/api/v1/custom-fields/", {"key": "x", "label": "x"}, format="json")
        .status_code
        == 403
    )
    assert admin.delete(f"/api/v1/custom-fields/{field_id}/").status_code == 204
    assert not CustomField.objects.exists()


def test_other_database_conflicts_answer_409_conflict(chain, member_factory, api, monkeypatch):
    # given: a write that hits a unique rule no service check caught
    from django.db import IntegrityError

    member = member_factory()

    def clash(*args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed")

    monkeypatch.setattr(services, "update_member", clash)
    # when
    response = api(chain.cashier_a1).patch(f"{URL}{member.pk}/", {"address": "x"}, format="json")
    # then
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert response.json()["detail"] == "The request conflicts with existing data."
