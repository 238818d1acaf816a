"""Which member field each column of a file fills: guessed from the headers, changed by the user."""

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from onecard.core.errors import PermissionDenied
from onecard.core.scoping import node_in_scope, scope
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

from ..models import CustomField

# target: (label, header aliases). Custom fields add "custom:<key>" targets with their label and key.
FIELDS = {
    "name": (
        pgettext_lazy("person", "Name"),
        ("姓名", "名字", "会员姓名", "客户姓名", "name", "full name", "member name"),
    ),
    "phone": (
        gettext_lazy("Phone"),
        (
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "电话号码",
            "联系电话",
            "phone",
            "mobile",
            "phone number",
            "cell",
        ),
    ),
    "gender": (gettext_lazy("Gender"), ("性别", "gender", "sex")),
    "birthday": (
        gettext_lazy("Birthday"),
        ("生日", "出生日期", "birthday", "date of birth", "birth date", "dob"),
    ),
    "address": (gettext_lazy("Address"), ("地址", "住址", "联系地址", "address")),
    "id_number": (gettext_lazy("ID number"), ("身份证", "身份证号", "身份证号码", "id number", "id card")),
    "email": (gettext_lazy("E-mail"), ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail")),
    "notes": (gettext_lazy("Notes"), ("备注", "notes", "note", "remark", "remarks")),
    "store": (
        gettext_lazy("Store"),
        ("门店", "所属门店", "门店编码", "门店名称", "开卡门店", "store", "store code", "shop"),
    ),
    "tags": (gettext_lazy("Tags"), ("标签", "会员标签", "tags", "tag")),
    "source": (gettext_lazy("Source"), ("来源", "会员来源", "source")),
    "owner": (gettext_lazy("Owner"), ("负责人", "专属顾问", "导购", "owner")),
    "consent": (
        gettext_lazy("Marketing consent"),
        ("营销同意", "同意营销", "营销授权", "consent", "marketing consent"),
    ),
}
REQUIRED_TARGETS = ("name", "phone")
_HEADER_NOISE = re.compile(r"[\s_\-*:：]|\(.*?\)|（.*?）")


# ---- mapping ---------------------------------------------------------------------------------------------


def _normalise_header(text):
    return _HEADER_NOISE.sub("", str(text)).lower()


def custom_field_definitions(merchant):
    return list(CustomField.objects.filter(merchant=merchant))


def target_choices(merchant):
    """(value, label) for each column's select: the member fields, then the merchant's custom fields."""
    choices = [(key, label) for key, (label, _aliases) in FIELDS.items()]
    choices += [(f"custom:{d.key}", d.label) for d in custom_field_definitions(merchant)]
    return choices


def target_label(target, merchant=None, definitions=None):
    if target in FIELDS:
        return str(FIELDS[target][0])
    if target.startswith("custom:"):
        key = target[len("custom:") :]
        for d in definitions if definitions is not None else custom_field_definitions(merchant):
            if d.key == key:
                return d.label
        return key
    return target


def auto_mapping(headers, definitions=()):
    """The target of each column guessed from its header (Chinese or English); each target once at most."""
    aliases = {}
    for target, (label, names) in FIELDS.items():
        for name in (*names, str(label)):
            aliases.setdefault(_normalise_header(name), target)
    for d in definitions:
        aliases.setdefault(_normalise_header(d.label), f"custom:{d.key}")
        aliases.setdefault(_normalise_header(d.key), f"custom:{d.key}")
    return first_column_wins(headers, aliases, _normalise_header)


def first_column_wins(headers, aliases, normalise):
    """Per header: what its normalised name is an alias of ("" for none); each target for its first column only."""
    used, columns = set(), []
    for header in headers:
        target = aliases.get(normalise(header), "")
        if target in used:
            target = ""
        used.add(target)
        columns.append(target)
    return columns


def stores_for(actor, merchant=None):
    """The active stores an importer may import into (their scope), for the default-store choice."""
    qs = OrgNode.objects.filter(kind=NodeKind.STORE, is_active=True).select_related("merchant")
    if merchant is not None:
        qs = qs.filter(merchant=merchant)
    elif not actor.sees_everything:
        qs = qs.filter(merchant_id=actor.merchant.pk if actor.merchant else None)
    return scope(qs, actor, "id").order_by("merchant_id", "path")


def check_default_store(actor, merchant, store):
    if store is None:
        return
    if store.merchant_id != merchant.pk or store.kind != NodeKind.STORE or not node_in_scope(actor, store):
        raise PermissionDenied(_("You can only import members into your own stores."))
