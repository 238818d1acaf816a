"""`onecard seed-demo`: the demo chain, believable members, and a second run that adds none."""

import io

import pytest
from django.core.management import call_command

from onecard.core.chinese import pinyin_keys
from onecard.core.validators import normalize_phone
from onecard.members.bulk import fast_pinyin_keys
from onecard.members.models import ConsentRecord, Member
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode, Role, Staff

pytestmark = pytest.mark.django_db(transaction=False)


def seed(count):
    out = io.StringIO()
    call_command("seed_demo", members=count, stdout=out)
    return out.getvalue()


def test_seed_demo_builds_the_chain_and_members():
    output = seed(300)
    assert "300 demo members created" in output
    nodes = OrgNode.objects.filter(merchant__code="demo")
    assert nodes.filter(kind=NodeKind.HQ).count() == 1
    assert nodes.filter(kind=NodeKind.REGION).count() == 3
    assert nodes.filter(kind=NodeKind.STORE).count() == 12
    held = set(Role.objects.filter(is_builtin=True, staff__isnull=False).values_list("code", flat=True))
    assert held == set(Role.objects.filter(is_builtin=True).values_list("code", flat=True))
    hq = Staff.objects.get(username="hq")
    assert hq.check_password("onecard2026")  # the one shared hash works for every demo login
    assert Staff.objects.get(username="sh01c1").check_password("onecard2026")

    members = list(Member.objects.filter(merchant__code="demo"))
    assert len(members) == 300
    phones = [m.phone for m in members]
    assert len(set(phones)) == 300
    for m in members:
        assert normalize_phone(m.phone) == m.phone
        assert m.phone_last4 == m.phone[-4:]
        assert m.name_initials and m.name_pinyin
        assert (m.name_initials, m.name_pinyin) == pinyin_keys(m.name)
        assert m.home_store.kind == NodeKind.STORE
    assert len({m.member_no for m in members}) == 300
    consenting = sum(m.marketing_consent for m in members)
    assert ConsentRecord.objects.filter(member__merchant__code="demo").count() == consenting
    assert Member.tags.through.objects.filter(member__merchant__code="demo").exists()


def test_second_run_adds_none_and_a_bigger_count_tops_up():
    seed(120)
    assert "already present" in seed(120)
    assert Member.objects.count() == 120
    seed(150)
    assert Member.objects.count() == 150
    assert Member.objects.values("phone").distinct().count() == 150


def test_fast_pinyin_is_pinyin_keys():
    names = [
        "张三",
        "王小明",
        "曾伟",
        "单雄信",
        "朝阳",
        "李 娜",
        "Tom",
        "欧阳娜娜",
        "",
        "乐乐",
        "重庆",
        "长孙无忌",
    ]
    for name in names:
        assert fast_pinyin_keys(name) == pinyin_keys(name), name
