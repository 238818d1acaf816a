"""The demo chain: one merchant, HQ, 3 regions, 12 stores and staff in every role (seed-demo builds it),
and the timeline on which the later demos play the chain's history."""

import heapq
import itertools
import secrets

from django.contrib.auth.hashers import make_password
from django.db import transaction

from onecard.core.demo_logins import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TILL_PIN, DEMO_TOTP_SECRET
from onecard.core.errors import BusinessError

from . import second_factor, services, till_login
from .choices import NodeKind
from .models import Merchant, Role, Staff
from .queries import real_merchants

REGIONS = {
    "华东区": ("EAST", ["上海徐汇店", "上海浦东店", "杭州西湖店", "南京新街口店"]),
    "华北区": ("NORTH", ["北京朝阳店", "北京海淀店", "天津和平店", "青岛市南店"]),
    "华南区": ("SOUTH", ["广州天河店", "深圳南山店", "厦门思明店", "长沙五一店"]),
}

DEMO_NAME = "一卡通示范连锁"

STORE_CODES = {
    "上海徐汇店": "SH01",
    "上海浦东店": "SH02",
    "杭州西湖店": "HZ01",
    "南京新街口店": "NJ01",
    "北京朝阳店": "BJ01",
    "北京海淀店": "BJ02",
    "天津和平店": "TJ01",
    "青岛市南店": "QD01",
    "广州天河店": "GZ01",
    "深圳南山店": "SZ01",
    "厦门思明店": "XM01",
    "长沙五一店": "CS01",
}


@transaction.atomic
def build_demo_chain(*, next_to_real_data=False):
    """Create the demo merchant with its tree and the demo logins; returns (merchant, stores, staff, passwords).

    On an empty database (a demo install) every demo login has the published password and `admin` is a
    superuser; `passwords` is empty. Next to real merchants, only when asked (`next_to_real_data`), no
    superuser is made, the named demo logins get random passwords, returned once in `passwords` for the
    caller to print, and the stores' own accounts get none: nobody can read a way in from the README.
    """
    if real_merchants().exists() and not next_to_real_data:
        raise BusinessError(
            "Real merchants exist: the demo's published password must not open accounts next to them.",
            code="real_merchants_present",
        )
    roles = services.ensure_builtin_roles()
    merchant = services.create_merchant(None, name=DEMO_NAME, code="demo", hq_name="总部", is_demo=True)
    hq = merchant.nodes.get(kind=NodeKind.HQ)
    regions, stores = _demo_tree(hq)
    staff, new_logins = _demo_staff(roles, hq, regions, stores, next_to_real_data=next_to_real_data)
    passwords = _set_demo_passwords(new_logins, published=not next_to_real_data)
    if not next_to_real_data:
        # Like the password, the demo's authenticator key is published: only a demo install holds these
        # accounts. Next to real data the demo logins have random passwords and enrol at their first log-in.
        for account in new_logins:
            if second_factor.must_use_second_factor(account):
                second_factor.enrol_demo_account(account, DEMO_TOTP_SECRET)
        # And the cashiers' till PIN, so that 换人 at the till can be tried (docs/security.md).
        till_login.give_published_pin(new_logins, DEMO_TILL_PIN)
    Role.objects.get_or_create(
        merchant=merchant,
        name="储值专员",
        defaults={
            "permissions": ["members.view", "members.add", "members.change", "members.export"],
            "description": "示范自定义角色",
        },
    )
    return merchant, stores, staff, passwords


def _demo_tree(hq):
    """The demo's regions (by code) and stores under its head office."""
    stores = []
    regions = {}
    for region_name, (code, store_names) in REGIONS.items():
        region = services.create_node(None, parent=hq, kind=NodeKind.REGION, name=region_name, code=code)
        regions[code] = region
        for store_name in store_names:
            stores.append(
                services.create_node(
                    None,
                    parent=region,
                    kind=NodeKind.STORE,
                    name=store_name,
                    code=STORE_CODES[store_name],
                    address=f"{store_name[:2]}市 示范路 {len(stores) + 1} 号",
                    phone=f"021-6000{len(stores):04d}",
                )
            )
    return regions, stores


def _demo_staff(roles, hq, regions, stores, *, next_to_real_data):
    """The demo's named logins and every store's manager and two cashiers; (staff by username, new logins)."""
    by_name = {s.name: s for s in stores}
    new_logins = []
    staff = {}
    admin = Staff.objects.filter(username="admin").first()
    if admin is None and not next_to_real_data:
        admin = Staff.objects.create_superuser("admin", password=None, display_name="系统管理员")
        admin.roles.add(roles["system_admin"])
        new_logins.append(admin)
    if admin is not None:
        staff["admin"] = admin
    accounts = [
        ("hq", "总部管理员 周敏", hq, "hq_admin"),
        ("east", "华东区经理 陈刚", regions["EAST"], "region_manager"),
        ("manager", "徐汇店长 李娜", by_name["上海徐汇店"], "store_manager"),
        ("cashier", "徐汇收银 王芳", by_name["上海徐汇店"], "cashier"),
        ("cashier2", "朝阳收银 赵磊", by_name["北京朝阳店"], "cashier"),
        ("marketer", "市场专员 孙悦", hq, "marketer"),
        ("sales", "销售代表 刘洋", by_name["上海徐汇店"], "sales_rep"),
        ("service", "客服专员 吴婷", hq, "service_agent"),
    ]
    for i, store in enumerate(stores):  # every store has a manager and two cashiers of its own
        for suffix, role in (("m", "store_manager"), ("c1", "cashier"), ("c2", "cashier")):
            display = f"{store.name[:-1]}{'店长' if suffix == 'm' else '收银'}{i + 1}"
            accounts.append((f"{STORE_CODES[store.name].lower()}{suffix}", display, store, role))
    for username, display, node, role in accounts:
        staff[username] = services.create_staff(
            None,
            username=username,
            password=None,
            node=node,
            roles=[roles[role]],
            display_name=display,
        )
    new_logins += [s for name, s in staff.items() if name != "admin"]
    return staff, new_logins


def _set_demo_passwords(accounts, *, published):
    """The published password for every account, or a random one for each named demo login (returned)."""
    if published:
        # One hash for every demo login: PBKDF2 takes ~0.4 s, 45 of them took most of seed-demo's time.
        # The accounts are made without a password (an unusable one, no hashing) and then all get this hash.
        password = make_password(DEMO_PASSWORD)
        Staff.objects.filter(pk__in=[s.pk for s in accounts]).update(password=password)
        for account in accounts:
            account.password = password
        return {}
    named = {username for username, _what in DEMO_LOGINS}
    passwords = {}
    for account in accounts:
        if account.username in named:
            passwords[account.username] = secrets.token_urlsafe(12)
            account.password = make_password(passwords[account.username])
            account.save(update_fields=["password"])
    return passwords


def demo_merchant():
    """The merchant `onecard seed-demo` built, or None."""
    return Merchant.objects.filter(code="demo", is_demo=True).first()


class DemoTimeline:
    """Demo events in time order: each runs at its own time on the moved clock and may schedule follow-ups."""

    def __init__(self, rng, clock, stores, summary):
        self.rng, self.clock, self.stores, self.summary = rng, clock, stores, summary
        self.queue, self.counter = [], itertools.count()
        self.staff_by_store = {}
        for staff in Staff.objects.filter(node__in=stores, is_active=True).order_by("id"):
            self.staff_by_store.setdefault(staff.node_id, []).append(staff)

    def at(self, when, action, *args):
        heapq.heappush(self.queue, (when, next(self.counter), action, args))

    def run_until(self, end):
        """Run every queued event before `end`; a business refusal is counted, as a till would show it."""
        while self.queue and self.queue[0][0] < end:
            when, _n, action, args = heapq.heappop(self.queue)
            self.clock.set(when)
            try:
                action(when, *args)
            except BusinessError as error:
                self.summary.refused[error.code] += 1

    def actor(self, store):
        """One of the store's active staff, or None (the system) where it has none."""
        staff = self.staff_by_store.get(store.pk)
        return self.rng.choice(staff) if staff else None
