"""Members pages: scoping, search, masking and reveal, create/edit, merge, transfer, export permission."""

import io

import openpyxl
import pytest
from django.urls import reverse

from onecard.core.models import AuditEntry
from onecard.members import labels, merging
from onecard.members.choices import MemberStatus
from onecard.members.models import Contact, CustomField, Member, OwnerChange, Tag
from onecard.members.views import CappedPaginator


@pytest.fixture
def as_user(login):
    """as_user(staff) → a client logged in as that staff member, asking for English pages."""

    def do(user):
        client = login(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return do


@pytest.fixture
def three_stores(member_factory, chain):
    """One member in each of A1, A2 (east) and B1 (north)."""
    return {
        "a1": member_factory(store=chain.a1, name="张三", phone="13812345678"),
        "a2": member_factory(store=chain.a2, name="王五", phone="13912340002"),
        "b1": member_factory(store=chain.b1, name="赵六", phone="13712340003"),
    }


def _listed(response):
    return {m.pk for m in response.context["rows"]}


def _xlsx_member_numbers(response):
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True))


# ---- scoping -------------------------------------------------------------------------------------------


def test_cashier_of_a1_cannot_see_b1_member_anywhere(chain, three_stores, as_user):
    # given
    client = as_user(chain.cashier_a1)
    b1 = three_stores["b1"]
    # when / then: the list
    response = client.get(reverse("members:list"))
    assert response.status_code == 200
    assert _listed(response) == {three_stores["a1"].pk}
    assert "赵六" not in response.content.decode()
    # search by the B1 member's full phone, number and name
    for q in (b1.phone, b1.member_no, "赵六", "zl"):
        response = client.get(reverse("members:list"), {"q": q})
        assert _listed(response) == set(), q
    # the detail page, the edit page, reveal
    assert client.get(reverse("members:detail", args=[b1.pk])).status_code == 404
    assert client.get(reverse("members:edit", args=[b1.pk])).status_code == 404


def test_export_of_a1_store_manager_holds_only_a1_members(chain, three_stores, as_user):
    # given the A1 store manager (same scope as the A1 cashier, but allowed to export)
    client = as_user(chain.store_manager)
    # when
    response = client.get(reverse("members:export"), {"purpose": "对账"})
    # then
    assert response.status_code == 200
    assert _xlsx_member_numbers(response) == [three_stores["a1"].member_no]


def test_region_manager_sees_both_east_stores_but_not_north(chain, three_stores, as_user):
    # given
    client = as_user(chain.region_manager)
    # when
    response = client.get(reverse("members:list"))
    # then
    assert _listed(response) == {three_stores["a1"].pk, three_stores["a2"].pk}
    assert client.get(reverse("members:detail", args=[three_stores["b1"].pk])).status_code == 404
    assert client.get(reverse("members:detail", args=[three_stores["a2"].pk])).status_code == 200
    # the store filter offers only nodes in scope, and filtering by the region includes its stores
    offered = {node.pk for node in response.context["stores"]}
    assert offered == {chain.east.pk, chain.a1.pk, chain.a2.pk}
    response = client.get(reverse("members:list"), {"store": chain.east.pk})
    assert _listed(response) == {three_stores["a1"].pk, three_stores["a2"].pk}
    response = client.get(reverse("members:list"), {"store": chain.b1.pk})
    assert _listed(response) == set()


def test_search_by_pinyin_initials_finds_zhang_san(chain, member_factory, as_user):
    # given
    zhang = member_factory(name="张三", phone="13812345678")
    member_factory(name="李四", phone="13812340000")
    client = as_user(chain.cashier_a1)
    # when
    response = client.get(reverse("members:list"), {"q": "zs"})
    # then
    assert _listed(response) == {zhang.pk}
    assert "张三" in response.content.decode()
    # last four digits and member number work through the same box
    assert _listed(client.get(reverse("members:list"), {"q": "5678"})) == {zhang.pk}
    assert _listed(client.get(reverse("members:list"), {"q": zhang.member_no})) == {zhang.pk}


def test_list_filters_by_owner_tag_consent(chain, member_factory, as_user):
    # given
    vip = labels.create_tag(None, chain.merchant, "VIP")
    owned = member_factory(owner=chain.sales, tags=[vip], marketing_consent=True)
    ownerless = member_factory()
    client = as_user(chain.store_manager)
    url = reverse("members:list")
    # when / then
    assert _listed(client.get(url, {"owner": chain.sales.pk})) == {owned.pk}
    assert _listed(client.get(url, {"owner": "none"})) == {ownerless.pk}
    assert _listed(client.get(url, {"tag": vip.pk})) == {owned.pk}
    assert _listed(client.get(url, {"consent": "yes"})) == {owned.pk}
    assert _listed(client.get(url, {"consent": "no"})) == {ownerless.pk}
    # the export link keeps the filters
    response = client.get(url, {"tag": vip.pk, "q": "zs"})
    assert f'href="/members/export/?tag={vip.pk}&amp;q=zs"' in response.content.decode()


def test_list_row_shows_masked_phone(chain, member_factory, as_user):
    member_factory(phone="13812345678")
    content = as_user(chain.store_manager).get(reverse("members:list")).content.decode()
    assert "138****5678" in content
    assert "13812345678" not in content


def test_capped_paginator_counts_at_most_cap_plus_one(chain, member_factory):
    # given five members and a cap of three
    for _ in range(5):
        member_factory()

    class Small(CappedPaginator):
        cap = 3

    # when
    paginator = Small(Member.objects.order_by("-id"), 2)
    # then
    assert paginator.count == 4
    assert paginator.capped is True
    assert paginator.count_display == "3+"
    assert paginator.num_pages == 2
    exact = CappedPaginator(Member.objects.order_by("-id"), 2)
    assert (exact.count, exact.capped, exact.count_display, exact.num_pages) == (5, False, "5", 3)


# ---- detail, reveal -----------------------------------------------------------------------------------


def test_detail_shows_masked_phone_only(chain, member_factory, as_user):
    # given
    member = member_factory(phone="13812345678")
    # when
    response = as_user(chain.store_manager).get(reverse("members:detail", args=[member.pk]))
    # then
    content = response.content.decode()
    assert response.status_code == 200
    assert "138****5678" in content
    assert "13812345678" not in content
    assert reverse("members:reveal", args=[member.pk, "phone"]) in content
    for empty in ("No cards yet.", "No transactions yet.", "No coupons yet.", "No tickets yet."):
        assert empty in content


def test_cashier_sees_no_reveal_button(chain, member_factory, as_user):
    member = member_factory(phone="13812345678")
    content = as_user(chain.cashier_a1).get(reverse("members:detail", args=[member.pk])).content.decode()
    assert "138****5678" in content
    assert reverse("members:reveal", args=[member.pk, "phone"]) not in content


def test_store_manager_reveal_returns_full_number_and_is_audited(chain, member_factory, as_user):
    # given
    member = member_factory(phone="13812345678")
    client = as_user(chain.store_manager)
    # when
    refused = client.post(reverse("members:reveal", args=[member.pk, "phone"]), HTTP_HX_REQUEST="true")
    response = client.post(
        reverse("members:reveal", args=[member.pk, "phone"]), {"purpose": "Delivery"}, HTTP_HX_REQUEST="true"
    )
    # then a reveal without a purpose is refused, one with a purpose shows the number
    assert refused.status_code == 400 and "13812345678" not in refused.content.decode()
    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.actor == chain.store_manager
    assert entry.subject_id == str(member.pk)
    assert entry.after == {"field": "phone", "purpose": "Delivery"}


def test_cashier_reveal_is_refused_and_not_audited(chain, member_factory, as_user):
    member = member_factory(phone="13812345678")
    response = as_user(chain.cashier_a1).post(
        reverse("members:reveal", args=[member.pk, "phone"]), {"purpose": "Delivery"}
    )
    assert response.status_code == 403
    assert "13812345678" not in response.content.decode()
    assert AuditEntry.objects.filter(action="reveal").count() == 0


def test_reveal_of_member_outside_scope_is_404(chain, member_factory, as_user):
    member = member_factory(store=chain.b1, phone="13812345678")
    response = as_user(chain.store_manager).post(reverse("members:reveal", args=[member.pk, "phone"]))
    assert response.status_code == 404
    assert AuditEntry.objects.filter(action="reveal").count() == 0


def test_merged_member_page_links_to_survivor(chain, member_factory, as_user):
    survivor = member_factory(phone="13800000001")
    merged = member_factory(phone="13800000002")
    merging.merge_members(chain.store_manager, survivor, merged)
    content = as_user(chain.store_manager).get(reverse("members:detail", args=[merged.pk])).content.decode()
    assert "This record was merged into another member." in content
    assert f'href="{reverse("members:detail", args=[survivor.pk])}"' in content


def test_consent_toggle_records_time_and_source(chain, member_factory, as_user):
    # given
    member = member_factory()
    client = as_user(chain.cashier_a1)
    # when
    response = client.post(reverse("members:consent", args=[member.pk]), {"granted": "1"})
    # then
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.marketing_consent is True
    assert member.consent_at is not None
    assert member.consent_source == "staff: a1cash"
    assert member.consent_history.get().granted is True
    # and withdrawing it
    client.post(reverse("members:consent", args=[member.pk]), {"granted": "0"})
    member.refresh_from_db()
    assert member.marketing_consent is False
    assert member.consent_history.count() == 2


def test_contacts_add_edit_delete(chain, member_factory, as_user):
    # given
    member = member_factory(kind="company", name="远大公司", phone="")
    client = as_user(chain.cashier_a1)
    # when added
    response = client.post(
        reverse("members:contact_create", args=[member.pk]),
        {"name": "王经理", "title": "采购", "phone": "13900001111", "is_primary": "on"},
    )
    # then
    assert response.status_code == 302
    contact = Contact.objects.get(member=member)
    assert (contact.name, contact.phone, contact.is_primary) == ("王经理", "13900001111", True)
    # a bad phone is shown next to the field and nothing changes
    response = client.post(
        reverse("members:contact_edit", args=[member.pk, contact.pk]), {"name": "王经理", "phone": "123"}
    )
    assert response.status_code == 200
    assert 'data-error-for="phone"' in response.content.decode()
    # edited
    client.post(
        reverse("members:contact_edit", args=[member.pk, contact.pk]), {"name": "王总", "title": "总经理"}
    )
    contact.refresh_from_db()
    assert (contact.name, contact.title) == ("王总", "总经理")
    # deleted
    client.post(reverse("members:contact_delete", args=[member.pk, contact.pk]))
    assert Contact.objects.filter(member=member).count() == 0


# ---- create, edit -------------------------------------------------------------------------------------


def _form_data(chain, **overrides):
    data = {
        "kind": "person",
        "name": "李四",
        "phone": "13912345678",
        "gender": "",
        "birthday": "",
        "id_number": "",
        "email": "",
        "address": "",
        "home_store": chain.a1.pk,
        "owner": "",
        "source": "store",
        "source_detail": "",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_create_member_through_the_form(chain, as_user):
    # given a tag and a custom field
    tag = labels.create_tag(None, chain.merchant, "VIP")
    labels.define_custom_field(None, chain.merchant, key="shoe_size", label="鞋码", field_type="number")
    client = as_user(chain.cashier_a1)
    assert "鞋码" in client.get(reverse("members:create")).content.decode()
    # when
    response = client.post(
        reverse("members:create"),
        _form_data(
            chain,
            tags=[tag.pk],
            cf_shoe_size="42",
            birthday="1990-05-01",
            owner=chain.cashier_a1.pk,
            marketing_consent="on",
        ),
    )
    # then
    member = Member.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("members:detail", args=[member.pk])
    assert (member.name, member.phone, str(member.birthday)) == ("李四", "13912345678", "1990-05-01")
    assert member.custom_fields == {"shoe_size": 42}
    assert list(member.tags.all()) == [tag]
    assert member.owner == chain.cashier_a1
    assert member.marketing_consent is True


def test_create_with_duplicate_phone_links_existing_member_and_creates_nothing(
    chain, member_factory, as_user
):
    # given
    existing = member_factory(name="张三", phone="13812345678")
    # when
    response = as_user(chain.cashier_a1).post(
        reverse("members:create"), _form_data(chain, name="李四", phone="138 1234 5678")
    )
    # then
    content = response.content.decode()
    assert response.status_code == 200
    assert f"This phone number already belongs to member {existing.member_no}" in content
    assert f'href="{reverse("members:detail", args=[existing.pk])}"' in content
    assert Member.objects.count() == 1


def test_create_with_bad_phone_shows_the_error_and_creates_nothing(chain, as_user):
    # when
    response = as_user(chain.cashier_a1).post(reverse("members:create"), _form_data(chain, phone="12345"))
    # then
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-error-for="phone"' in content
    assert "The phone number is not in a valid format." in content
    assert Member.objects.count() == 0


def test_cashier_cannot_pick_another_stores_home_store(chain, as_user):
    response = as_user(chain.cashier_a1).post(
        reverse("members:create"), _form_data(chain, home_store=chain.b1.pk)
    )
    assert response.status_code == 200
    assert 'data-error-for="home_store"' in response.content.decode()
    assert Member.objects.count() == 0


def test_edit_changes_fields_and_audits_the_diff(chain, member_factory, as_user):
    # given
    member = member_factory(name="张三", phone="13812345678", address="旧地址")
    client = as_user(chain.cashier_a1)
    form = client.get(reverse("members:edit", args=[member.pk])).content.decode()
    assert "13812345678" not in form  # the full number is not sent to the browser
    # when (phone left empty: unchanged)
    response = client.post(
        reverse("members:edit", args=[member.pk]),
        _form_data(chain, name="张三丰", phone="", address="新地址", email="zsf@example.com"),
    )
    # then
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.name, member.address, member.email, member.phone) == (
        "张三丰",
        "新地址",
        "zsf@example.com",
        "13812345678",
    )
    entry = AuditEntry.objects.get(action="update", subject_id=str(member.pk))
    assert entry.before == {"name": "张三", "address": "旧地址", "email": ""}
    assert entry.after == {"name": "张三丰", "address": "新地址", "email": "zsf@example.com"}


def test_create_requires_add_permission(chain, as_user):
    response = as_user(chain.marketer).get(reverse("members:create"))
    assert response.status_code == 403


def test_pages_require_login(client, chain, member_factory):
    member = member_factory()
    for url in (
        reverse("members:list"),
        reverse("members:detail", args=[member.pk]),
        reverse("members:export"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# ---- merge, transfer ----------------------------------------------------------------------------------


def test_merge_through_the_page(chain, member_factory, as_user):
    # given two records of one person
    survivor = member_factory(name="张三", phone="13800000001")
    merged = member_factory(name="张三", phone="13800000002", address="上海市中山路1号")
    client = as_user(chain.store_manager)
    # when the manager finds both by phone
    page = client.get(reverse("members:merge"), {"a": "13800000001", "b": "13800000002"})
    # then they are compared side by side, masked
    content = page.content.decode()
    assert page.context["a"] == survivor and page.context["b"] == merged
    assert "138****0001" in content and "138****0002" in content
    table = content[content.index('id="merge-compare"') :]
    assert "13800000001" not in table and "13800000002" not in table
    # when the first is kept
    response = client.post(
        reverse("members:merge"), {"a": survivor.pk, "b": merged.pk, "survivor": survivor.pk}
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("members:detail", args=[survivor.pk])
    merged.refresh_from_db()
    survivor.refresh_from_db()
    assert merged.status == MemberStatus.MERGED and merged.merged_into_id == survivor.pk
    assert survivor.address == "上海市中山路1号"
    assert AuditEntry.objects.filter(action="merge", subject_id=str(survivor.pk)).count() == 1


def test_merge_needs_permission(chain, as_user):
    assert as_user(chain.cashier_a1).get(reverse("members:merge")).status_code == 403


def test_bulk_transfer_of_ticked_rows(chain, member_factory, as_user):
    # given
    first, second, untouched = member_factory(), member_factory(), member_factory()
    client = as_user(chain.store_manager)
    # when the list's form posts two ticked rows
    response = client.post(
        reverse("members:transfer"),
        {
            "ids": [first.pk, second.pk],
            "to_owner": chain.sales.pk,
            "reason": "调岗",
            "next": "/members/?q=zs",
        },
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == "/members/?q=zs"
    owners = dict(Member.objects.values_list("pk", "owner_id"))
    assert owners == {first.pk: chain.sales.pk, second.pk: chain.sales.pk, untouched.pk: None}
    assert set(OwnerChange.objects.values_list("member_id", "reason")) == {
        (first.pk, "调岗"),
        (second.pk, "调岗"),
    }
    assert AuditEntry.objects.filter(action="transfer").count() == 1


def test_bulk_transfer_refuses_members_outside_scope(chain, member_factory, as_user):
    # given a B1 member's id slipped into the ticked rows
    mine, theirs = member_factory(), member_factory(store=chain.b1)
    # when
    response = as_user(chain.store_manager).post(
        reverse("members:transfer"), {"ids": [mine.pk, theirs.pk], "to_owner": chain.sales.pk}
    )
    # then nothing moves
    assert response.status_code == 200
    assert set(Member.objects.values_list("owner_id", flat=True)) == {None}


def test_hand_over_all_members_of_leaving_staff(chain, member_factory, as_user):
    # given
    members = [member_factory(owner=chain.sales) for _ in range(3)]
    # when
    response = as_user(chain.store_manager).post(
        reverse("members:transfer"),
        {"mode": "all", "from_owner": chain.sales.pk, "to_owner": chain.cashier_a1.pk, "reason": "离职"},
    )
    # then
    assert response.status_code == 302
    assert set(Member.objects.filter(pk__in=[m.pk for m in members]).values_list("owner", flat=True)) == {
        chain.cashier_a1.pk
    }


def test_transfer_needs_permission(chain, member_factory, as_user):
    member = member_factory()
    response = as_user(chain.cashier_a1).post(
        reverse("members:transfer"), {"ids": [member.pk], "to_owner": chain.cashier_a1.pk}
    )
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.owner_id is None


# ---- export permission --------------------------------------------------------------------------------


def test_export_requires_export_permission(chain, member_factory, as_user):
    member_factory()
    response = as_user(chain.cashier_a1).get(reverse("members:export"))
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="export").count() == 0


def test_export_is_audited_with_filters(chain, member_factory, as_user):
    member_factory(name="张三")
    member_factory(name="李四")
    response = as_user(chain.store_manager).get(reverse("members:export"), {"q": "zs", "purpose": "对账"})
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="export")
    assert (entry.subject_type, entry.subject_repr, entry.note) == ("members.member", "1 members", "q=zs")
    assert entry.after == {"purpose": "对账", "rows": 1}
    assert entry.actor == chain.store_manager


# ---- tags and custom fields ---------------------------------------------------------------------------


def test_tags_page_creates_and_deletes(chain, as_user):
    client = as_user(chain.hq_admin)
    response = client.post(reverse("members:tags"), {"name": "VIP", "color": "#ff0000"})
    assert response.status_code == 302
    tag = Tag.objects.get(merchant=chain.merchant)
    assert (tag.name, tag.color) == ("VIP", "#ff0000")
    # a duplicate name is refused next to the field
    response = client.post(reverse("members:tags"), {"name": "VIP", "color": "#ff0000"})
    assert "A tag with this name exists already." in response.content.decode()
    client.post(reverse("members:tags"), {"action": "delete", "tag": tag.pk})
    assert Tag.objects.count() == 0


def test_custom_fields_page_creates_and_deletes(chain, as_user):
    client = as_user(chain.hq_admin)
    response = client.post(
        reverse("members:fields"),
        {"label": "肤质", "key": "skin", "field_type": "choice", "choices": "干性\n油性", "position": "1"},
    )
    assert response.status_code == 302
    field = CustomField.objects.get(merchant=chain.merchant)
    assert (field.key, field.choices) == ("skin", ["干性", "油性"])
    client.post(reverse("members:fields"), {"action": "delete", "field": field.pk})
    assert CustomField.objects.count() == 0


def test_tag_pages_need_manage_fields(chain, as_user):
    assert as_user(chain.region_manager).get(reverse("members:tags")).status_code == 403
    assert as_user(chain.store_manager).get(reverse("members:fields")).status_code == 403
