"""Members service: duplicates, merge, masking and audited reveal, transfer."""

import pytest

from onecard.core.errors import Conflict, PermissionDenied, ValidationFailed
from onecard.core.models import AuditEntry
from onecard.members import merging, services
from onecard.members.choices import MemberStatus
from onecard.members.models import Member


def test_create_member_derives_search_keys(chain):
    # given / when
    member = services.create_member(
        chain.cashier_a1,
        chain.merchant,
        {"name": "张三", "phone": "+86 138-1234-5678", "home_store": chain.a1},
    )
    # then
    assert member.phone == "13812345678"
    assert member.phone_last4 == "5678"
    assert member.name_initials == "zs"
    assert member.name_pinyin == "zhangsan"
    assert member.member_no == "10000001"
    assert (
        AuditEntry.objects.filter(
            action="create", subject_type="members.member", subject_id=str(member.pk)
        ).count()
        == 1
    )


def test_duplicate_phone_is_refused_with_link(chain, member_factory):
    first = member_factory(phone="13912345678")
    with pytest.raises(Conflict) as exc:
        services.create_member(
            chain.cashier_a1,
            chain.merchant,
            {"name": "李四", "phone": "139 1234 5678", "home_store": chain.a1},
        )
    assert exc.value.code == "duplicate_phone"
    assert exc.value.extra["existing_member"]["member_no"] == first.member_no
    assert Member.objects.count() == 1


def test_bad_phone_and_birthday_are_refused_and_nothing_saved(chain):
    with pytest.raises(ValidationFailed) as exc:
        services.create_member(
            chain.cashier_a1,
            chain.merchant,
            {"name": "王五", "phone": "12345", "birthday": "1990-13-40", "home_store": chain.a1},
        )
    assert set(exc.value.errors) == {"phone", "birthday"}
    assert Member.objects.count() == 0


def test_cashier_cannot_register_member_in_other_store(chain):
    with pytest.raises(ValidationFailed) as exc:
        services.create_member(
            chain.cashier_a1, chain.merchant, {"name": "王五", "phone": "13700000001", "home_store": chain.b1}
        )
    assert "home_store" in exc.value.errors


def test_merge_keeps_both_histories(chain, member_factory):
    # given two records of one person, each with a contact and consent history
    survivor = member_factory(name="张三", phone="13800000001")
    merged = member_factory(
        name="张三", phone="13800000002", address="上海市中山路1号", marketing_consent=True
    )
    services.add_contact(chain.store_manager, merged, {"name": "张太太", "phone": "13900000009"})
    # when
    merging.merge_members(chain.store_manager, survivor, merged)
    # then
    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert merged.status == MemberStatus.MERGED and merged.merged_into_id == survivor.pk
    assert survivor.address == "上海市中山路1号"
    assert survivor.marketing_consent is True
    assert list(survivor.contacts.values_list("name", flat=True)) == ["张太太"]
    assert survivor.consent_history.count() == 1
    assert survivor.merges_received.get().snapshot["phone"] == "13800000002"
    # the merged record's phone still points at the person: a new member with it is refused
    with pytest.raises(Conflict) as exc:
        services.create_member(
            chain.cashier_a1, chain.merchant, {"name": "X", "phone": "13800000002", "home_store": chain.a1}
        )
    assert exc.value.extra["existing_member"]["member_no"] == survivor.member_no


def test_reveal_needs_permission_and_is_audited(chain, member_factory):
    member = member_factory(phone="13812345678")
    with pytest.raises(PermissionDenied):
        services.reveal(chain.cashier_a1, member, "phone", purpose="Delivery")
    with pytest.raises(ValidationFailed):  # PIPL: no reveal without a purpose
        services.reveal(chain.store_manager, member, "phone", purpose="  ")
    assert services.reveal(chain.store_manager, member, "phone", purpose="客户来电") == "13812345678"
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.after == {"field": "phone", "purpose": "客户来电"}
    assert entry.actor == chain.store_manager and entry.subject_id == str(member.pk)
    assert services.display_phone(member) == "138****5678"


def test_bulk_transfer_when_staff_leave(chain, member_factory):
    members = [member_factory(owner=chain.sales) for _ in range(3)]
    moved = services.transfer_all_from(chain.store_manager, chain.sales, chain.cashier_a1, reason="离职")
    assert moved == 3
    assert set(Member.objects.filter(pk__in=[m.pk for m in members]).values_list("owner", flat=True)) == {
        chain.cashier_a1.pk
    }
    assert Member.objects.get(pk=members[0].pk).owner_changes.get().reason == "离职"


def test_search_finds_chinese_by_initials_and_latin_names_by_spelling(chain, member_factory):
    from onecard.members.queries import filter_members

    # given a Chinese and a Latin name
    zhang = member_factory(name="张三")
    tom = member_factory(name="Tom Lee")

    # when / then: initials find 张三, the spelling finds Tom, and neither leaks into the other
    assert list(filter_members(chain.hq_admin, {"q": "zs"})) == [zhang]
    assert list(filter_members(chain.hq_admin, {"q": "zhangs"})) == [zhang]
    assert list(filter_members(chain.hq_admin, {"q": "tom"})) == [tom]
    assert list(filter_members(chain.hq_admin, {"q": "ZS"})) == [zhang]
