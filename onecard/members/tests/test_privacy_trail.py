"""The personal-data access trail (PIPL): every reveal, export, list page and member page records who saw
which members, how, why and when; each member's "who saw my data" report lists exactly those."""

import pytest
from django.urls import reverse

from onecard.core.models import AuditEntry
from onecard.members.models import PersonalDataAccess
from onecard.members.privacy import access_report

pytestmark = pytest.mark.django_db


def _subjects(access):
    return sorted(access.subjects.values_list("member_id", flat=True))


def test_an_export_asks_for_a_purpose_first_and_records_every_member_exported(chain, member_factory, login):
    zhang = member_factory(name="张三")
    member_factory(name="李四")
    client = login(chain.store_manager)
    # when: the export is asked for without a purpose
    page = client.get(reverse("members:export"), {"q": "zs"}, HTTP_ACCEPT_LANGUAGE="en")
    # then: the page asks why, keeps the filters, and nothing is exported or recorded
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert (
        'name="purpose"' in page.content.decode()
        and '<input type="hidden" name="q" value="zs">' in page.content.decode()
    )
    assert not PersonalDataAccess.objects.exists() and not AuditEntry.objects.filter(action="export").exists()
    # when: a purpose of more than 100 characters is given
    too_long = client.get(
        reverse("members:export"), {"q": "zs", "purpose": "x" * 101}, HTTP_ACCEPT_LANGUAGE="en"
    )
    # then: refused with the reason, nothing recorded
    assert too_long.status_code == 400 and "at most 100 characters" in too_long.content.decode()
    assert not PersonalDataAccess.objects.exists()
    # when: the purpose is given in the user's own words
    response = client.get(
        reverse("members:export"), {"q": "zs", "purpose": "对账", "purpose_other": "会员日短信名单核对"}
    )
    # then: the file comes, and the access names the actor, the purpose and exactly the member exported
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    access = PersonalDataAccess.objects.get()
    assert (access.kind, access.actor, access.purpose, access.subject_count) == (
        "export",
        chain.store_manager,
        "会员日短信名单核对",
        1,
    )
    assert _subjects(access) == [zhang.pk]
    assert "name" in access.fields and "phone_masked" in access.fields


def test_list_pages_member_pages_and_reveals_are_recorded(chain, member_factory, login):
    zhang = member_factory(name="张三", phone="13812345678")
    li = member_factory(name="李四")
    client = login(chain.store_manager)
    # when: the list, then 张三's page, then his full phone
    client.get(reverse("members:list"))
    client.get(reverse("members:detail", args=[zhang.pk]))
    client.post(reverse("members:reveal", args=[zhang.pk, "phone"]), {"purpose": "Customer service call"})
    # then: three accesses, each with what it showed
    listed, opened, revealed = PersonalDataAccess.objects.order_by("pk")
    assert (listed.kind, _subjects(listed), listed.channel) == ("list", sorted([zhang.pk, li.pk]), "web")
    assert (opened.kind, _subjects(opened)) == ("detail", [zhang.pk])
    assert (revealed.kind, revealed.purpose, revealed.fields, _subjects(revealed)) == (
        "reveal", "Customer service call", ["phone"], [zhang.pk]
    )  # fmt: skip
    # and: 张三's report has all three, 李四's only the list
    assert [a.kind for a in access_report(zhang)] == ["reveal", "detail", "list"]
    assert [a.kind for a in access_report(li)] == ["list"]


def test_api_reads_are_recorded_with_their_channel(chain, member_factory, api):
    zhang = member_factory(name="张三")
    client = api(chain.store_manager)
    client.get("/api/v1/members/")
    client.get(f"/api/v1/members/{zhang.pk}/")
    assert list(PersonalDataAccess.objects.order_by("pk").values_list("kind", "channel")) == [
        ("list", "api"),
        ("detail", "api"),
    ]


def test_the_access_log_page_shows_who_saw_the_data_in_chinese(chain, member_factory, login):
    zhang = member_factory(name="张三")
    login(chain.store_manager).get(reverse("members:detail", args=[zhang.pk]))
    # when: head office reads 张三's access log
    page = login(chain.hq_admin).get(reverse("members:access_log", args=[zhang.pk])).content.decode()
    # then: the store manager's visit, named in Chinese
    assert 'data-access="detail"' in page and "a1mgr" in page and "打开会员页" in page
    assert "姓名" in page and "网页" in page
    # and: a cashier, who may not read the audit log, may not read it either
    assert login(chain.cashier_a1).get(reverse("members:access_log", args=[zhang.pk])).status_code == 403


def test_the_access_log_api_answers_newest_first_and_needs_audit_view(chain, member_factory, api):
    zhang = member_factory(name="张三")
    api(chain.store_manager).get(f"/api/v1/members/{zhang.pk}/")
    client = api(chain.hq_admin)
    # when
    answer = client.get(f"/api/v1/members/{zhang.pk}/access-log/")
    # then: the store manager's read (head office's own read of the log is not a read of personal data)
    assert answer.status_code == 200
    [entry] = answer.json()
    assert (entry["kind"], entry["actor_name"], entry["channel"], entry["subject_count"]) == (
        "detail",
        "a1mgr",
        "api",
        1,
    )
    assert api(chain.cashier_a1).get(f"/api/v1/members/{zhang.pk}/access-log/").status_code == 403
    assert client.get("/api/v1/members/999999/access-log/").status_code == 404
