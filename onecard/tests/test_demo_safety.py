"""No known passwords outside a demo install: seed-demo refuses to run next to real merchants unless forced
(and then publishes no password), a real merchant ends the published password, no superuser gets it."""

import importlib
import io

import pytest
from django.apps import apps
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from onecard.core.demo_logins import DEMO_PASSWORD, DEMO_TILL_PIN, DEMO_TOTP_SECRET
from onecard.core.errors import ValidationFailed
from onecard.core.models import AuditEntry
from onecard.demo import print_demo_logins
from onecard.members.models import Member
from onecard.org import services, till_login, totp
from onecard.org.models import Merchant, OrgNode, SecondFactor, Staff
from onecard.org.passwords import published_password_holders

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SMALL = {"members": 20, "cards": 0, "sales": 0}  # the chain and a few members: what the accounts need


def seed(*args, **options):
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, **{**SMALL, **options})
    return out.getvalue()


def counts():
    return (
        Merchant.objects.count(),
        OrgNode.objects.count(),
        Staff.objects.count(),
        Member.objects.count(),
        AuditEntry.objects.count(),
    )


def token_for(username, password, otp=""):
    return APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password, "otp": otp}, format="json"
    )


def demo_code():
    """The code of the demo's published authenticator key now (what `onecard demo-code` prints)."""
    return totp.code_at(DEMO_TOTP_SECRET, totp.step_of(timezone.now()))


def published_key_holders():
    """The usernames whose authenticator is the demo's published key."""
    return {
        f.staff.username
        for f in SecondFactor.objects.select_related("staff")
        if totp.unseal(f.secret_sealed) == DEMO_TOTP_SECRET
    }


def test_the_demo_still_works_on_an_empty_database(api_urls):
    # when seed-demo runs on an empty database (what the first `make run` does)
    output = seed()
    # then the demo logins work with the published password (and the published authenticator key where
    # their roles need a second step), `admin` is a superuser, and serve prints them
    assert "demo chain created" in output
    assert Merchant.objects.get().is_demo
    assert Staff.objects.get(username="admin").is_superuser
    assert {"admin", "hq", "east", "manager", "marketer"} <= published_key_holders()
    assert "cashier" not in published_key_holders()
    assert token_for("admin", DEMO_PASSWORD, demo_code()).status_code == 200
    assert token_for("cashier", DEMO_PASSWORD).status_code == 200
    printed = io.StringIO()
    print_demo_logins(printed)
    assert f"password for all: {DEMO_PASSWORD}" in printed.getvalue()
    assert "cashier" in printed.getvalue()
    assert f"with the key {DEMO_TOTP_SECRET}" in printed.getvalue()


def test_seed_demo_refuses_a_database_with_a_real_merchant_and_writes_nothing():
    # given a real merchant
    services.create_merchant(None, name="真实连锁", code="real")
    before = counts()
    # when seed-demo runs
    with pytest.raises(CommandError) as refusal:
        seed()
    # then it is refused, naming the merchant and the way round, and nothing is written
    message = str(refusal.value)
    assert "真实连锁" in message and "--force-next-to-real-data" in message
    assert counts() == before
    assert not Staff.objects.filter(username__in=["admin", "hq", "cashier"]).exists()


def test_forced_next_to_real_data_no_password_is_published_and_no_superuser_is_made(api_urls):
    # given a real merchant
    services.create_merchant(None, name="真实连锁", code="real")
    # when seed-demo is told to run anyway
    output = seed("--force-next-to-real-data")
    # then it warns, builds the demo merchant, and prints each named login's random password once
    assert "WARNING: adding the demo merchant next to real merchants" in output
    assert DEMO_PASSWORD not in output
    assert Merchant.objects.get(code="demo").is_demo
    assert not Staff.objects.filter(is_superuser=True).exists()
    block = output.split("shown only now")[1].splitlines()[1:9]
    printed = {line.split()[0]: line.split()[1] for line in block}
    assert set(printed) == {"hq", "east", "manager", "cashier", "cashier2", "marketer", "sales", "service"}
    assert len(set(printed.values())) == 8
    assert token_for("cashier", printed["cashier"]).status_code == 200
    assert token_for("hq", DEMO_PASSWORD).status_code == 400
    # and no account holds the published authenticator key: head office's password is right, and it must
    # set up an authenticator of its own on the web first
    assert published_key_holders() == set()
    refused = token_for("hq", printed["hq"], demo_code())
    assert refused.status_code == 403 and refused.json()["code"] == "second_factor_not_enrolled"
    # and the stores' own accounts open with no password at all
    assert not Staff.objects.get(username="sh01c1").has_usable_password()
    assert published_password_holders(Staff) == []
    # and serve prints no demo logins
    printed_by_serve = io.StringIO()
    print_demo_logins(printed_by_serve)
    assert printed_by_serve.getvalue() == ""


def test_a_real_merchant_ends_the_published_password_of_a_demo_install(api_urls):
    # given a demo install that someone starts to use for real
    seed()
    admin = Staff.objects.get(username="admin")
    assert token_for("admin", DEMO_PASSWORD, demo_code()).status_code == 200
    key_holders = published_key_holders()
    assert {"admin", "hq", "manager"} <= key_holders
    # (the demo's store manager already has a password of their own, but still the published key)
    services.set_staff_password(admin, Staff.objects.get(username="manager"), "a-private-Secret-2026")
    # when a real merchant is created
    services.create_merchant(admin, name="真实连锁", code="real")
    # then no account opens with the published password any more, and the API tokens it gave are gone
    assert published_password_holders(Staff) == []
    assert token_for("admin", DEMO_PASSWORD).status_code == 400
    assert not Staff.objects.get(username="admin").has_usable_password()
    assert not Staff.objects.filter(auth_token__isnull=False, username="admin").exists()
    retired = AuditEntry.objects.filter(note="published demo password retired: real merchants exist")
    assert retired.count() == Staff.objects.filter(node__merchant__code="demo").count()  # + admin - manager
    assert Staff.objects.get(username="manager").check_password("a-private-Secret-2026")
    # and the published authenticator key goes from every account, audited per account: whoever logs in
    # to one again sets up an authenticator of their own
    assert published_key_holders() == set()
    removed = AuditEntry.objects.filter(action="second_factor", note="published demo key removed")
    assert set(removed.values_list("subject_id", flat=True)) == {
        str(pk) for pk in Staff.objects.filter(username__in=key_holders).values_list("pk", flat=True)
    }
    # and seed-demo refuses from now on
    with pytest.raises(CommandError):
        seed()


def test_no_superuser_is_created_with_the_published_password(monkeypatch):
    # when createsuperuser is given the demo's password without a prompt (which skips the validators)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", DEMO_PASSWORD)
    with pytest.raises(CommandError, match="OneCard 演示数据公开的密码"):
        call_command(
            "createsuperuser", "--noinput", username="boss", email="boss@example.cn", stdout=io.StringIO()
        )
    # then there is no such superuser
    assert not Staff.objects.filter(username="boss").exists()
    # and with another password there is
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-Secret-2026")
    call_command(
        "createsuperuser", "--noinput", username="boss", email="boss@example.cn", stdout=io.StringIO()
    )
    assert Staff.objects.get(username="boss").is_superuser


def test_the_published_password_is_refused_for_any_account(chain):
    with pytest.raises(ValidationFailed) as refusal:
        services.set_staff_password(chain.hq_admin, chain.cashier_a1, DEMO_PASSWORD)
    assert refusal.value.errors["password"] == ["此密码是 OneCard 演示数据公开的密码，请另选一个。"]
    assert not chain.cashier_a1.__class__.objects.get(pk=chain.cashier_a1.pk).check_password(DEMO_PASSWORD)


def test_the_upgrade_marks_the_demo_and_retires_its_password_where_real_merchants_exist():
    # given a database of an older release: the demo (unmarked) was seeded next to a real merchant
    seed()
    Merchant.objects.update(is_demo=False)
    Merchant.objects.create(name="真实连锁", code="real")  # as an older release's create_merchant left it
    assert published_password_holders(Staff)
    migration = importlib.import_module(
        "onecard.org.migrations.0008_mark_the_demo_and_retire_published_passwords"
    )
    # when the migration runs
    migration.mark_the_demo_and_retire_published_passwords(apps, None)
    # then the demo merchant is marked and nobody opens with the published password
    assert list(Merchant.objects.filter(is_demo=True).values_list("code", flat=True)) == ["demo"]
    assert published_password_holders(Staff) == []
    assert AuditEntry.objects.filter(action="update", after={"password": "retired"}).count() == 45


def test_the_upgrade_leaves_a_demo_install_alone():
    seed()
    Merchant.objects.update(is_demo=False)
    migration = importlib.import_module(
        "onecard.org.migrations.0008_mark_the_demo_and_retire_published_passwords"
    )
    migration.mark_the_demo_and_retire_published_passwords(apps, None)
    assert Merchant.objects.get().is_demo
    assert Staff.objects.get(username="admin").check_password(DEMO_PASSWORD)


def published_pin_holders():
    """The usernames whose till PIN is the demo's published one."""
    return {
        s.username for s in Staff.objects.exclude(till_pin="") if check_password(DEMO_TILL_PIN, s.till_pin)
    }


def test_demo_cashiers_switch_at_the_till_with_the_published_pin_until_a_real_merchant_exists():
    # given a demo install
    output = seed()
    # then every cashier, and nobody who needs the second step, has the published till PIN, which serve prints
    cashiers = set(Staff.objects.filter(roles__code="cashier").values_list("username", flat=True))
    assert {"cashier", "cashier2", "sh01c1"} <= cashiers
    assert published_pin_holders() == cashiers
    assert "manager" not in published_pin_holders() and "admin" not in published_pin_holders()
    printed = io.StringIO()
    print_demo_logins(printed)
    assert f"till PIN {DEMO_TILL_PIN}" in printed.getvalue()
    assert "WARNING" not in output
    # and 换人's quick log-in takes the code and that PIN at the cashier's store
    cashier = Staff.objects.get(username="cashier")
    signed = till_login.signed_store(cashier.node)
    form = {"till": signed, "next": "/till/", "entry": "cashier", "pin": DEMO_TILL_PIN}
    answer = Client().post(reverse("till_login"), form)
    assert answer.status_code == 302 and answer["Location"] == "/till/"
    # when a real merchant is created
    services.create_merchant(None, name="真实连锁", code="real")
    # then no till PIN is the published one any more, each removal audited, and the quick log-in refuses it
    assert published_pin_holders() == set()
    removed = AuditEntry.objects.filter(note="published demo till PIN removed")
    assert removed.count() == len(cashiers)
    refused = Client().post(reverse("till_login"), form)
    assert refused.status_code == 200 and "_auth_user_id" not in refused.wsgi_request.session


def test_forced_next_to_real_data_gives_no_published_till_pin():
    # given a real merchant; when seed-demo is told to run anyway
    services.create_merchant(None, name="真实连锁", code="real")
    seed("--force-next-to-real-data")
    # then no cashier has the published till PIN
    assert published_pin_holders() == set()
