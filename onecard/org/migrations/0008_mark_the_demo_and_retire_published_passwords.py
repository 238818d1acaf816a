"""Marks the merchant that `onecard seed-demo` built as the demo; where real merchants exist beside it, every
account that still opens with the demo's published password gets none and loses its API token (audited).

Before this release seed-demo ran on any database, so a production database may hold the demo's `admin`
and its staff with the password the README prints. The work is org.passwords' (shared with
services.retire_published_passwords), given this migration's models.
"""

from django.contrib.auth.hashers import make_password
from django.db import migrations

from onecard.org.passwords import published_password_holders


def mark_the_demo_and_retire_published_passwords(apps, schema_editor):
    Merchant = apps.get_model("org", "Merchant")
    Staff = apps.get_model("org", "Staff")
    Token = apps.get_model("authtoken", "Token")
    AuditEntry = apps.get_model("core", "AuditEntry")
    Merchant.objects.filter(code="demo", name="一卡通示范连锁").update(is_demo=True)
    if not Merchant.objects.filter(is_demo=False).exists():
        return  # a demo install (or an empty database): the demo logins keep working
    for staff in published_password_holders(Staff):
        Staff.objects.filter(pk=staff.pk).update(password=make_password(None))
        Token.objects.filter(user_id=staff.pk).delete()
        node = staff.node
        AuditEntry.objects.create(
            actor=None,
            actor_name="system",
            action="update",
            subject_type="org.staff",
            subject_id=str(staff.pk),
            subject_repr=(staff.display_name or staff.username)[:200],
            node=node,
            merchant_id=node.merchant_id if node is not None else None,
            after={"password": "retired"},
            note="published demo password retired: real merchants exist",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0007_merchant_is_demo"),
        ("core", "0002_audit_log_links"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [
        migrations.RunPython(mark_the_demo_and_retire_published_passwords, migrations.RunPython.noop),
    ]
