"""Core's generic list / edit / action views, declared over members' tags (object_views_urlconf)."""

import pytest
from django.contrib.messages import get_messages

from onecard.core.models import AuditEntry
from onecard.members.models import Tag

pytestmark = [pytest.mark.django_db, pytest.mark.urls("onecard.core.tests.object_views_urlconf")]


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/test-tags/new/")
    assert response.status_code == 302 and "/test-tags/new/" in response["Location"]


def test_a_user_without_every_permission_is_refused(client, login, chain):
    # given a cashier, who may view members but not define tags
    login(chain.cashier_a1)
    # when they open the form and post it
    assert client.get("/test-tags/new/").status_code == 403
    assert client.post("/test-tags/new/", {"name": "VIP", "color": "#000000"}).status_code == 403
    # then no tag exists
    assert Tag.objects.count() == 0


def test_bad_input_is_refused_and_nothing_is_saved(client, login, chain):
    login(chain.hq_admin)
    response = client.post("/test-tags/new/", {"name": "", "color": "#000000"})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["name"]
    assert Tag.objects.count() == 0


def test_a_service_refusal_rolls_back_what_it_wrote_and_is_shown_on_the_form(client, login, chain):
    # given an admin and a save that writes a tag, then is refused
    login(chain.hq_admin)
    audit_rows = AuditEntry.objects.count()
    # when the form is posted
    response = client.post("/test-tags/new/", {"name": "refuse-after-writing", "color": "#000000"})
    # then the refusal is above the form and neither the tag nor its audit row remain
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["The service changed its mind."]
    assert "The service changed its mind." in response.content.decode()
    assert Tag.objects.count() == 0
    assert AuditEntry.objects.count() == audit_rows


def test_a_validation_refusal_lands_next_to_its_field(client, login, chain):
    login(chain.hq_admin)
    client.post("/test-tags/new/", {"name": "VIP", "color": "#000000"})
    response = client.post("/test-tags/new/", {"name": "VIP", "color": "#000000"})
    assert response.context["form"].errors["name"] == ["已存在同名标签。"]
    assert Tag.objects.filter(name="VIP").count() == 1


def test_a_valid_form_saves_through_the_service_and_redirects_with_a_message(client, login, chain):
    login(chain.hq_admin)
    response = client.post("/test-tags/new/", {"name": "VIP", "color": "#112233"})
    assert response.status_code == 302 and response["Location"] == "/done/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Tag VIP saved."]
    tag = Tag.objects.get()
    assert (tag.merchant, tag.color) == (chain.merchant, "#112233")


def test_another_merchants_record_is_not_found(client, login, chain):
    # given a tag of the other merchant
    tag = Tag.objects.create(merchant=chain.other, name="theirs")
    login(chain.hq_admin)
    # when the admin of the first merchant opens or deletes it
    assert client.get(f"/test-tags/{tag.pk}/").status_code == 404
    assert client.post(f"/test-tags/{tag.pk}/delete/").status_code == 404
    # then it is still there
    assert Tag.objects.filter(pk=tag.pk).exists()


def test_the_edit_form_shows_the_record(client, login, chain):
    tag = Tag.objects.create(merchant=chain.merchant, name="VIP")
    login(chain.hq_admin)
    response = client.get(f"/test-tags/{tag.pk}/")
    assert response.status_code == 200
    assert response.context["tag"] == tag


def test_the_list_pages_the_merchants_records_only(client, login, chain):
    for name in ("c", "a", "b"):
        Tag.objects.create(merchant=chain.merchant, name=name)
    Tag.objects.create(merchant=chain.other, name="0-theirs")
    login(chain.cashier_a1)
    assert client.get("/test-tags/").context["rows"] == ["a", "b"]
    assert client.get("/test-tags/?page=2").context["rows"] == ["c"]


def test_an_action_runs_the_service_only_on_post(client, login, chain):
    tag = Tag.objects.create(merchant=chain.merchant, name="VIP")
    login(chain.hq_admin)
    assert client.get(f"/test-tags/{tag.pk}/delete/").status_code == 405
    response = client.post(f"/test-tags/{tag.pk}/delete/")
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Tag VIP deleted."]
    assert not Tag.objects.filter(pk=tag.pk).exists()
