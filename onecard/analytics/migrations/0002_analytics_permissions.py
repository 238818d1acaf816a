"""Data migration: the built-in roles gain analytics.view and reports.build (store manager, marketer; HQ and
region have every permission), and sales.import, analytics.manage (HQ, region).

Refreshes every built-in role from org.permissions.BUILTIN_ROLES, as org's 0002 does on a fresh database.
"""

from django.db import migrations

from onecard.org.permissions import refresh_builtin_roles


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_member_facts_and_classes"), ("org", "0011_staff_till_pin_and_card")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
