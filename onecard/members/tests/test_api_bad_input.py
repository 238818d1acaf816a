"""Members API: ids written with Unicode digits or past a database id are refused or find nothing, never a 500."""

import pytest

from onecard.members.choices import MemberStatus
from onecard.members.models import Member

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

URL = "/api/v1/members/"


@pytest.mark.parametrize("param", ["tag", "store", "owner"])
@pytest.mark.parametrize("value", ["²", "٣", str(2**64)])
def test_a_list_filter_that_is_no_id_finds_nothing(chain, member_factory, api, param, value):
    # given
    member_factory(owner=chain.sales)
    # when
    response = api(chain.store_manager).get(URL, {param: value})
    # then
    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize("bad_id", ["²", "٣", str(2**63)])
def test_merge_with_an_id_that_is_no_id_is_a_field_error(chain, member_factory, api, bad_id):
    survivor = member_factory()
    response = api(chain.store_manager).post(
        f"{URL}merge/", {"survivor": str(survivor.pk), "merged": bad_id}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"merged": ["A valid id is required."]}
    assert not Member.objects.filter(status=MemberStatus.MERGED).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"members": ["²"], "to_owner": "SALES"},
        {"members": [str(2**64)], "to_owner": "SALES"},
        {"from_owner": "²", "to_owner": "SALES"},
        {"members": ["MEMBER"], "to_owner": "²"},
    ],
)
def test_transfer_with_an_id_that_is_no_id_is_a_field_error(chain, member_factory, api, body):
    # given
    member = member_factory()
    ids = {"SALES": str(chain.sales.pk), "MEMBER": str(member.pk)}
    body = {k: [ids.get(i, i) for i in v] if isinstance(v, list) else ids.get(v, v) for k, v in body.items()}
    # when
    response = api(chain.store_manager).post(f"{URL}transfer/", body, format="json")
    # then
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    member.refresh_from_db()
    assert member.owner is None


def test_a_birthday_in_unicode_digits_is_a_field_error(chain, member_factory, api):
    member = member_factory()
    response = api(chain.store_manager).patch(f"{URL}{member.pk}/", {"birthday": "1990-05-0²"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["birthday"]
