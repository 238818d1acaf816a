"""Member export (M7): the exact columns and values, with phone and ID numbers masked."""

import io

import openpyxl
from django.urls import reverse
from django.utils import timezone

from onecard.core.validators import id_number_check_digit
from onecard.members import labels

HEADER = [
    "Member no.",
    "Name",
    "Type",
    "Phone",
    "ID number",
    "Gender",
    "Birthday",
    "E-mail",
    "Home store",
    "Owner",
    "Tags",
    "Source",
    "Marketing consent",
    "Joined",
]


def _sheet_rows(response):
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_export_content_and_masking(chain, member_factory, login):
    # given a member with every exported field, a tag and a custom field
    first17 = "11010519900501123"
    id_number = first17 + id_number_check_digit(first17)
    vip = labels.create_tag(None, chain.merchant, "VIP")
    sensitive = labels.create_tag(None, chain.merchant, "敏感肌")
    labels.define_custom_field(None, chain.merchant, key="shoe_size", label="鞋码", field_type="number")
    member = member_factory(
        name="张三",
        phone="13812345678",
        id_number=id_number,
        gender="male",
        birthday="1990-05-01",
        email="zs@example.com",
        owner=chain.sales,
        tags=[sensitive, vip],
        marketing_consent=True,
        custom_fields={"shoe_size": "42"},
    )
    company = member_factory(kind="company", name="远大公司", phone="", store=chain.a1)
    member_factory(store=chain.b1, name="赵六")  # outside the store manager's scope
    client = login(chain.store_manager)
    # when
    response = client.get(reverse("members:export"), {"purpose": "Sales analysis"}, HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith('attachment; filename="members-')
    rows = _sheet_rows(response)
    assert rows[0] == HEADER + ["鞋码"]
    joined = timezone.localtime(member.created_at).strftime("%Y-%m-%d %H:%M")
    company_joined = timezone.localtime(company.created_at).strftime("%Y-%m-%d %H:%M")
    assert rows[1:] == [
        [
            company.member_no,
            "远大公司",
            "Company",
            None,
            None,
            None,
            None,
            None,
            "徐汇店",
            None,
            None,
            "Store",
            "No",
            company_joined,
            None,
        ],
        [
            member.member_no,
            "张三",
            "Person",
            "138****5678",
            "1101**********" + id_number[-4:],
            "Male",
            "1990-05-01",
            "zs@example.com",
            "徐汇店",
            "sales",
            "VIP、敏感肌",
            "Store",
            "Yes",
            joined,
            42,
        ],
    ]


def test_export_keeps_the_lists_filters(chain, member_factory, login):
    # given
    zhang = member_factory(name="张三")
    member_factory(name="李四")
    # when
    response = login(chain.store_manager).get(reverse("members:export"), {"q": "zs", "purpose": "对账"})
    # then
    rows = _sheet_rows(response)
    assert [row[0] for row in rows[1:]] == [zhang.member_no]
