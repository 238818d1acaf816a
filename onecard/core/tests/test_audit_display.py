"""The audit log as people read it: Chinese labels, yuan, names for ids, 是/否 and —, a detail page in full."""

import pytest
from django.urls import reverse

from onecard.core import audit
from onecard.core.models import AuditEntry
from onecard.org import services

pytestmark = pytest.mark.django_db


def test_values_are_labelled_and_formatted_in_the_readers_language(chain, login):
    # given a change of a staff account (links, booleans, empty values) and an entry with an amount in fen
    services.update_staff(chain.hq_admin, chain.cashier_a1, node=chain.a2, display_name="")
    audit.record(chain.hq_admin, "update", chain.a1, before={"net": None}, after={"net": -41070})
    # when HQ opens the audit log (Chinese by default)
    html = login(chain.hq_admin).get(reverse("core:audit_log")).content.decode()
    # then labels are the fields' Chinese names, ids are names, fen are yuan, None is —
    assert "<b>组织节点</b>：徐汇店 → 浦东店" in html
    assert "<b>显示名称</b>：a1cash → —" in html
    assert "−¥410.70" in html
    assert "None" not in html and "True" not in html
    table = html[html.index('<table class="table table-wrapping" data-table="audit">') :]
    assert "org.staff" not in table and "org.orgnode" not in table


def test_the_detail_page_shows_every_value_in_full(chain, login):
    # given an entry with a long value
    long_note = "很长的备注" * 80
    entry = audit.record(
        chain.hq_admin,
        "update",
        chain.a1,
        before={"address": ""},
        after={"address": long_note, "is_active": True},
    )
    # when
    response = login(chain.hq_admin).get(reverse("core:audit_entry", args=[entry.pk]))
    html = response.content.decode()
    # then the whole value is there, with the field's Chinese label and 是 for True
    assert response.status_code == 200
    assert long_note in html
    assert '<tr data-key="is_active"><th scope="row">' in html and "<td>是</td>" in html
    assert '<tr data-key="address"><th scope="row">地址</th><td>—</td>' in html


def test_an_entry_outside_the_viewers_scope_is_not_found(chain, login):
    entry = audit.record(None, "update", chain.b1, before={"phone": "1"}, after={"phone": "2"})
    response = login(chain.store_manager).get(reverse("core:audit_entry", args=[entry.pk]))
    assert response.status_code == 404


def test_present_names_links_and_kinds():
    # given an entry about a card batch that names no stored record
    entry = AuditEntry(subject_type="loyalty.cardbatch", subject_repr="8888/1+115",
                       after={"first": "8888000000018", "count": 115, "balance": 12345})  # fmt: skip
    # when
    from onecard.core.audit_display import present

    (shown,) = present([entry])
    # then
    rows = {r["key"]: r for r in shown.rows}
    assert shown.name == "8888/1+115" and shown.kind != "loyalty.cardbatch"
    assert rows["count"]["after"] == "115" and rows["balance"]["after"] == "¥123.45"
    assert rows["first"]["label"] == "起始卡号"
